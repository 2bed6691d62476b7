/**
 * The prompt-injection detectors: each names a technique, the places where a match can begin
 * (its starts), its pattern and its weight (how strongly one occurrence suggests an attack
 * addressed to the agent). Patterns cover English, German, French, Spanish, Italian,
 * Portuguese, Dutch, Russian, Chinese and Japanese phrasings.
 *
 * INVARIANT: patterns are linear-time: repetitions are bounded and their alternatives cannot
 * match the same text in two ways.
 *
 * INVARIANT: every match of a pattern begins where one of its starts puts it (see
 * {@link InjectionStart}); the pattern is only ever tried there, as a sticky regex, so a start
 * missing from the list is a phrasing the detector does not see.
 */

export type InjectionTechnique =
  | 'instruction-override'
  | 'role-marker'
  | 'addressed-to-ai'
  | 'tool-call-instruction'
  | 'data-exfiltration'
  | 'prompt-leak'
  | 'markdown-exfiltration'
  | 'hidden-text'
  | 'encoded-payload'
  | 'context-closing'
  | 'mode-switch'
  | 'output-manipulation'
  | 'concealment';

/**
 * A lowercase ASCII keyword (found case-insensitively, at a word start when it begins with a
 * letter) and where, relative to it, a match is tried:
 * - `at` (a plain string): at the keyword, or `back` characters before it (for a word whose
 *   first letters are not ASCII: `back('bergehe', 1)` finds `übergehe`);
 * - `line`: at the newline that opens the keyword's line (or the text start), for patterns
 *   anchored with `(?:^|\n)`;
 * - `prev`: at the few places just before the keyword a prefix can begin (the previous word, the
 *   punctuation or newline before the blanks, a run of `-`, `=` or `*`), for patterns whose
 *   distinctive word comes second (`new instructions:`, `--- end of document`, `. AI: approve`).
 */
export type InjectionStart = string | { key: string; back: number } | { key: string; mode: 'line' | 'prev' };

const back = (key: string, n: number): InjectionStart => ({ key, back: n });
const line = (key: string): InjectionStart => ({ key, mode: 'line' });
const prev = (key: string): InjectionStart => ({ key, mode: 'prev' });

export interface InjectionDetector {
  technique: InjectionTechnique;
  /** Where a match can begin; empty means "run over the whole text when a Unicode anchor occurs". */
  starts: InjectionStart[];
  /** Non-ASCII anchors, tested with `includes`. */
  unicodeAnchors?: string[];
  /** Sticky (`y`) when the detector has starts, global otherwise. */
  pattern: RegExp;
  /** The pattern began with a word boundary, checked in code (a leading lookbehind is slow). */
  leadingBoundary: boolean;
  weight: number;
  /** Whether quoting and descriptive framing lower the weight (not for active content). */
  dampable: boolean;
}

/** `\b` is ASCII-only in JavaScript; patterns with non-ASCII words need a Unicode-aware one. */
const UNICODE_BOUNDARY = '(?:(?<![\\p{L}\\p{N}_])(?=[\\p{L}\\p{N}_])|(?<=[\\p{L}\\p{N}_])(?![\\p{L}\\p{N}_]))';

const D = (technique: InjectionTechnique, starts: InjectionStart[], source: string, weight: number, flags = 'gi', dampable = true, unicodeAnchors?: string[]): InjectionDetector => {
  const unicode = /[^\x00-\x7f]|\\p\{/.test(source);
  const leadingBoundary = unicode && source.startsWith('\\b');
  const body = leadingBoundary ? source.slice(2) : source;
  let f = unicode ? flags.replace('u', '') + 'u' : flags.replace('u', '');
  if (starts.length > 0) f = f.replace('g', 'y');
  return {
    technique,
    starts,
    pattern: new RegExp(unicode ? body.replace(/\\b/g, UNICODE_BOUNDARY) : body, f),
    leadingBoundary,
    weight,
    dampable,
    ...(unicodeAnchors ? { unicodeAnchors } : {}),
  };
};

/** A gap inside one sentence: anything but a newline or a sentence-ending period. */
const GAP = '(?:[^.\\n]|\\.(?=\\S))';
const W = "[\\p{L}'’-]+";
const OVERRIDE_OBJECT_EN =
  '(?:(?:text|content|document|message)s? above|rest of (?:this|the) (?:data|document|text|content|email|page|message|article|file|input)|everything (?:above|before this)|instructions?|prompts?|rules|directions|directives|guidelines|guidance|context|commands|orders|constraints|restrictions|policies|programming|messages|guardrails|system prompt|safety (?:rules|guidelines))';
const OVERRIDE_MOD_EN =
  '(?:(?:all|any|every|the|of|your|my|these|those|previous|prior|above|earlier|preceding|former|original|initial|existing|system|safety|developer|content|other|current|given|old)\\s+){0,4}';

export const INJECTION_DETECTORS: readonly InjectionDetector[] = [
  // Instruction override, in several languages
  D(
    'instruction-override',
    ['ignor', 'disregard', 'forget', 'override', 'bypass', 'skip', 'discard', 'neglect', 'set aside', 'abandon'],
    `\\b(?:ignore|ignoring|disregard|forget|override|bypass|skip|discard|neglect|set aside|abandon)\\s+${OVERRIDE_MOD_EN}${OVERRIDE_OBJECT_EN}\\b`,
    0.7,
  ),
  D(
    'instruction-override',
    ['do not', "don't", 'stop', 'no longer'],
    `\\b(?:do not|don't|stop|no longer)\\s+(?:follow|obey|adhere to|comply with)(?:ing)?\\s+${OVERRIDE_MOD_EN}${OVERRIDE_OBJECT_EN}\\b`,
    0.65,
  ),
  D(
    'instruction-override',
    [prev('instructions'), prev('rules'), prev('prompt')],
    `\\b(?:previous|prior|above|earlier|original|old|system)\\s+(?:instructions|rules|prompt)\\s+(?:are|were|is|have been)\\s+(?:now\\s+)?(?:void|cancell?ed|revoked|obsolete|superseded|outdated|no longer (?:valid|relevant|apply|in effect)|null)`,
    0.7,
  ),
  D(
    'instruction-override',
    [prev('instruction'), prev('directive'), prev('system prompt'), prev('task'), prev('objective'), prev('goal'), prev('orders')],
    `\\b(?:new|updated|revised|real|actual|true|secret|hidden|additional)\\s+(?:instructions?|directives?|system prompt|task|objective|goal|orders)\\s*:`,
    0.55,
  ),
  D('instruction-override', ['your'], `\\byour\\s+(?:new|real|actual|true|only|primary)\\s+(?:task|goal|objective|purpose|mission|job|instructions?)\\s+(?:is|are|now is)\\b`, 0.6),
  D('instruction-override', ['from now on', 'henceforth', 'going forward'], `\\b(?:from now on|henceforth|going forward)(?:\\s*,)?\\s+you (?:are|will|must|shall)\\b`, 0.55),
  D(
    'instruction-override',
    ['from now on', 'henceforth', 'going forward'],
    `\\b(?:from now on|henceforth|going forward)(?:\\s*,)?\\s+(?:you (?:are|will|must|shall|should|may)|your|ignore|only|always|never|respond|reply|answer|act)\\b`,
    0.45,
  ),
  D('instruction-override', ['pretend', 'roleplay'], `\\b(?:pretend (?:that )?(?:you are|you're|to be)|roleplay as)\\b`, 0.55),
  D(
    'instruction-override',
    ['you are no longer', "you're no longer", 'act as'],
    `\\b(?:you are no longer|you're no longer|act as (?:if you (?:were|are)|an? (?:unrestricted|unfiltered|different|new)))\\b`,
    0.45,
  ),
  D('instruction-override', ['instead'], `\\binstead(?:\\s*,)?\\s+(?:you (?:must|will|should|shall)|do the following|reply with|respond with|output|say)\\b`, 0.4),
  D(
    'instruction-override',
    ['ignor', 'vergiss', 'vergessen', 'missachte', back('bergehe', 1)],
    `\\b(?:ignorier(?:e|en|t)?|vergiss|vergessen sie|missachte|missachten sie|übergehe)\\s+(?:${W}\\s+){0,3}?(?:anweisungen|instruktionen|befehle|regeln|vorgaben|richtlinien|anordnungen|systemanweisungen)\\b`,
    0.7,
  ),
  D(
    'instruction-override',
    ['ab sofort', 'ab jetzt', 'neue anweisung', 'neue aufgabe', 'deine neue', 'deine eigentliche', 'deine wahre'],
    `\\b(?:ab (?:sofort|jetzt)(?:\\s*,)?\\s+(?:bist|wirst|sollst|musst|antwortest|ignorierst) du|neue (?:anweisungen?|aufgabe)\\s*:|deine (?:neue|eigentliche|wahre) aufgabe (?:ist|lautet))`,
    0.55,
  ),
  D(
    'instruction-override',
    ['ignor', 'oubli', back('glige', 2), 'contourn'],
    `\\b(?:ignore[zr]?|oublie[zr]?|néglige[zr]?|contourne[zr]?)\\s+(?:${W}\\s+){0,3}?(?:instructions|consignes|règles|directives|ordres)\\b`,
    0.7,
  ),
  D(
    'instruction-override',
    [back(' partir de maintenant', 1), 'nouvelles instructions', 'nouvelles consignes', 'ta nouvelle', 'ta vraie'],
    `(?:à partir de maintenant(?:\\s*,)?\\s+(?:tu|vous)\\b|nouvelles (?:instructions|consignes)\\s*:|ta (?:nouvelle|vraie) (?:tâche|mission) (?:est|consiste))`,
    0.55,
  ),
  D(
    'instruction-override',
    ['ignor', 'olvid', 'omite', 'descarta'],
    `\\b(?:ignora|ignore|ignorar|olvida|olvide|olvidar|omite|descarta)\\s+(?:${W}\\s+){0,3}?(?:instrucciones|indicaciones|reglas|directrices|órdenes|ordenes)\\b`,
    0.7,
  ),
  D(
    'instruction-override',
    ['a partir de ahora', 'nuevas instrucciones', 'tu nueva', 'tu verdadera'],
    `(?:a partir de ahora(?:\\s*,)?\\s+(?:eres|serás|debes|vas a|tú)\\b|nuevas instrucciones\\s*:|tu (?:nueva|verdadera) (?:tarea|misión) es)`,
    0.55,
  ),
  D('instruction-override', ['ignora', 'dimentica', 'trascura'], `\\b(?:ignora|dimentica|trascura)\\s+(?:${W}\\s+){0,3}?(?:istruzioni|regole|direttive|indicazioni)\\b`, 0.7),
  D(
    'instruction-override',
    ['ignor', 'esque', 'desconsidere'],
    `\\b(?:ignore|ignora|esqueça|esqueca|desconsidere)\\s+(?:${W}\\s+){0,3}?(?:instruções|instrucoes|regras|diretrizes|orientações)\\b`,
    0.7,
  ),
  D('instruction-override', ['negeer', 'vergeet'], `\\b(?:negeer|vergeet)\\s+(?:${W}\\s+){0,3}?(?:instructies|regels|opdrachten|richtlijnen)\\b`, 0.7),
  D('instruction-override', [], `(?:игнорируй|игнорируйте|забудь|забудьте)\\s+(?:${W}\\s+){0,3}?(?:инструкции|указания|правила)`, 0.7, 'giu', true, ['игнор', 'забуд']),
  D(
    'instruction-override',
    [],
    `(?:忽略|无视|無視|忘记|忘掉|不要理会)[^。\\n]{0,12}?(?:指令|指示|说明|規則|规则|提示|命令)|(?:以前|前|上記|これまで)の(?:指示|命令|指令)を(?:無視|忘れ)`,
    0.7,
    'gu',
    true,
    ['忽略', '无视', '無視', '忘记', '忘掉', '不要理会', '忘れ'],
  ),
  // Fake role and system markers
  D(
    'role-marker',
    ['<|', '[inst]', '[/inst]', '<<sys', '<</sys', '</s>', '<start_of_turn', '<end_of_turn'],
    `<\\|(?:im_start|im_end|system|user|assistant|endoftext|start_header_id|end_header_id|eot_id|eom_id|begin_of_text|end|endofprompt|tool|ipython)\\|>|<(?:start|end)_of_turn>|\\[/?INST\\]|<</?SYS>>|</s>\\s*<s>`,
    0.6,
    'giu',
    true,
  ),
  D(
    'role-marker',
    [line('system'), line('assistant'), line('developer')],
    `(?:^|\\n)[ \\t]*(?:#{1,4}[ \\t]*|\\*\\*|\\[)(?:system|assistant|developer|system prompt|system message)(?:\\*\\*|\\])?[ \\t]*:(?:\\*\\*)?(?=\\s*\\S)`,
    0.5,
    'giu',
    true,
  ),
  D('role-marker', [line('system'), line('assistant'), line('developer')], `(?:^|\\n)[ \\t]*(?:system|assistant|developer|system prompt|system message)[ \\t]*:(?=[ \\t]*\\S)`, 0.4, 'giu', true),
  D('role-marker', ['\n\nhuman:', '\n\nassistant:'], `\\n\\n(?:Human|Assistant):`, 0.45, 'gu', true),
  D('role-marker', ['<sys', '<instructions', '<admin', '<developer'], `<(?:system|instructions|admin|developer|system_prompt|sys)(?:\\s[^>]{0,40})?>`, 0.5, 'giu', true),
  // Requests addressed to the AI or the reviewer
  D(
    'addressed-to-ai',
    ['note', 'message', 'instruction', 'attention', 'important', 'reminder', 'memo', 'directive'],
    `\\b(?:note|message|instructions?|attention|important|reminder|memo|directive)\\s+(?:to|for)\\s+(?:the\\s+|any\\s+|all\\s+)?(?:ai|a\\.i\\.|llms?|language models?|assistants?|agents?|chatbots?|bots?|models?|copilot|claude|chatgpt|gpt(?:-?\\d)?|gemini|(?:ai |automated |code )?reviewers?)\\b`,
    0.5,
  ),
  D(
    'addressed-to-ai',
    ['attention', 'hey', 'dear', 'hello', 'hi'],
    `\\b(?:attention|hey|dear|hello|hi)\\s+(?:the\\s+)?(?:ai|llm|assistant|agent|model|bot|gpt|chatgpt|claude|copilot|gemini)s?\\s*[,:!]`,
    0.5,
  ),
  D(
    'addressed-to-ai',
    ['if you', 'since you', 'as you', 'because you'],
    `\\b(?:if|since|as|because) you(?:'re| are) (?:an? |the )?(?:ai|a\\.i\\.|llm|large language model|language model|ai assistant|assistant|ai agent|agent|bot|automated (?:system|agent|reviewer|tool)|chatbot|ai model|model)\\b`,
    0.55,
  ),
  D(
    'addressed-to-ai',
    [prev('ai'), prev('llm'), prev('assistant'), prev('agent'), prev('claude'), prev('chatgpt'), prev('gpt'), prev('copilot'), prev('gemini'), prev('reviewer'), prev('bot'), prev('model')],
    `(?:^|[\\n.!?]\\s*|\\b(?:hey|dear|hi|hello|attention|ok|okay)\\s+)(?:ai|llm|assistant|ai assistant|agent|ai agent|claude|chatgpt|gpt|copilot|gemini|ai reviewer|reviewer bot|bot|model)s?\\s*[,:]\\s*(?:please\\s+)?(?:(?:now|also|kindly|immediately|first)\\s+)?(?:you\\s+(?:must|should|need|will|are)|ignore|disregard|approve|merge|run|execute|send|reply|respond|say|output|print|mark|rate|classify|label|do not|don't|never|always|forward|include|add)\\b`,
    0.55,
  ),
  D(
    'addressed-to-ai',
    ['ai', 'llm', 'automated', 'language model'],
    `\\b(?:ai|llm|automated|language model)\\s+(?:reviewers?|agents?|assistants?|models?|systems?|tools?)\\s+(?:must|should|shall|are (?:required|instructed|expected) to|need to)\\s+(?:approve|merge|ignore|mark|rate|classify|run|execute|send|reply|output|always|never|not)\\b`,
    0.55,
  ),
  D(
    'addressed-to-ai',
    ['wenn du', 'an die ki', 'liebe ki', 'hallo ki', 'si tu es', 'si vous', 'si eres', 'si usted', back(" l'ia", 1), back(' la ia', 1), "para l'ia", 'para la ia', 'querida ia', back('re ia', 3)],
    `\\b(?:wenn du (?:eine |ein )?(?:ki|sprachmodell|assistent|bot) bist|an die ki|liebe ki|hallo ki|si (?:tu es|vous êtes|eres|usted es) (?:une |un |una )?(?:ia|i\\.a\\.|assistant|asistente|modèle de langage|modelo de lenguaje)|(?:à|a|para) (?:l'|la )ia\\s*:|querida ia|chère ia)\\b`,
    0.55,
  ),
  // Instructions to call tools or run commands
  D(
    'tool-call-instruction',
    ['call', 'invoke', 'use', 'run', 'execute', 'trigger'],
    `\\b(?:call|invoke|use|run|execute|trigger)\\s+(?:the\\s+)?(?:(?:tool|function)\\s*)?[\`'"]?[a-z][a-z0-9]*(?:_[a-z0-9]+)+[\`'"]?(?:\\s*(?:tool|function))?\\s+(?:with|to|on|and|passing|using)\\b`,
    0.5,
  ),
  D(
    'tool-call-instruction',
    ['immediately', 'now', 'silently', 'quietly', 'automatically', 'without', 'run', 'execute', 'call', 'invoke'],
    `\\b(?:immediately|now|silently|quietly|automatically|without asking|without confirmation)\\s+(?:run|execute|call|invoke)\\b|\\b(?:run|execute|call|invoke)\\s+(?:this|the following)\\s+(?:command|shell command|script|code|tool|function)s?\\s+(?:immediately|now|silently|without (?:asking|confirmation|telling))`,
    0.5,
  ),
  D(
    'tool-call-instruction',
    ['<tool_call', '<function_call', '<invoke', '"tool"', '"function"', '"tool_name"'],
    `<(?:tool_call|function_calls?|invoke)\\b|"(?:tool|function|tool_name)"\\s*:\\s*"[a-z_][a-z0-9_.]*"\\s*,\\s*"(?:arguments|parameters|args|input)"\\s*:`,
    0.5,
    'giu',
    false,
  ),
  D('tool-call-instruction', ['curl', 'wget'], `\\b(?:curl|wget)\\s[^\\n|]{0,160}\\|\\s*(?:sudo\\s+)?(?:ba|z)?sh\\b`, 0.3),
  // Sending data somewhere
  D(
    'data-exfiltration',
    ['send', 'post', 'upload', 'forward', 'email', 'e-mail', 'exfiltrate', 'transmit', 'leak', 'submit', 'share', 'dump', 'copy'],
    `\\b(?:send|post|upload|forward|email|e-mail|exfiltrate|transmit|leak|submit|share|dump|copy)\\b${GAP}{0,40}?(?<![\\w-])(?:secrets?|credentials?|api[ _-]?keys?|access keys?|tokens?|passwords?|environment variables|env vars|\\.env|conversation|chat history|system prompt|ssh keys?|private keys?|cookies|session (?:ids?|tokens?)|customer (?:data|records|list)|all (?:the )?(?:data|files|records|emails)|(?:the )?contents? of|database|~/\\.ssh|id_rsa|/etc/passwd)(?![\\w-])${GAP}{0,80}?(?:\\bto\\b|\\bat\\b|\\bvia\\b|\\binto\\b)\\s*(?:[a-z][a-z0-9+]{1,10}://|#[\\w-]{2,}|[\\w.+-]+@[\\w-]+\\.|[\\w-]+(?:\\.[\\w-]+)*\\.[a-z]{2,}\\b|(?:this|our|my|the following|an external|external|attacker)\\b)`,
    0.6,
  ),
  D(
    'data-exfiltration',
    ['sende', 'schicke', back('bermittle', 1), 'leite'],
    `\\b(?:sende|schicke|übermittle|leite)\\b[^.\\n]{0,40}?\\b(?:passw(?:ö|oe)rter|zugangsdaten|geheimnisse|schlüssel|kundendaten|daten|token)\\b[^.\\n]{0,60}?\\b(?:an|nach)\\b`,
    0.6,
  ),
  D(
    'data-exfiltration',
    ['envoie', 'envoyez', 'transmet', 'transf'],
    `\\b(?:envoie|envoyez|transmets|transmettez|transfère|transférez)\\b[^.\\n]{0,40}?\\b(?:mots de passe|identifiants|secrets|clés|données|jetons)\\b[^.\\n]{0,60}?(?:\\bà\\b|\\bvers\\b|\\ba\\b)`,
    0.6,
  ),
  D(
    'data-exfiltration',
    ['env', 'manda', 'reenv'],
    `\\b(?:envía|envia|enviar|manda|reenvía)\\b[^.\\n]{0,40}?\\b(?:contraseñas|credenciales|secretos|claves|datos|tokens)\\b[^.\\n]{0,60}?\\b(?:a|al|hacia)\\b`,
    0.6,
  ),
  D(
    'prompt-leak',
    ['print', 'reveal', 'output', 'repeat', 'show', 'display', 'tell me', 'leak', 'disclose', 'write out'],
    `\\b(?:print|reveal|output|repeat|show|display|tell me|leak|disclose|write out)\\s+(?:me\\s+)?(?:your|the)\\s+(?:(?:full|entire|original|hidden|initial|secret|complete)\\s+)?(?:system prompt|system message|hidden instructions|initial instructions|instructions above|pre-?prompt)\\b|\\b(?:print|reveal|output|show|display|tell me|leak|disclose)\\s+(?:me\\s+)?your\\s+(?:instructions|api keys?|secrets?|credentials|environment variables)\\b`,
    0.55,
  ),
  D(
    'prompt-leak',
    ['repeat', 'print', 'show', 'reveal', 'output', 'tell me', 'write out', 'list', 'recite'],
    `\\b(?:repeat|print|show|reveal|output|tell me|write out|list|recite)\\s+(?:me\\s+)?(?:the\\s+|your\\s+|all\\s+)?(?:(?:full\\s+|exact\\s+)?text of (?:the|your)\\s+)?(?:instructions|rules|guidelines|prompt|directions)\\s+(?:that\\s+)?(?:you\\s+(?:were|have been)\\s+given|you received|(?:given|provided) to you|above|at the (?:start|beginning))`,
    0.5,
  ),
  // Active content: rendered or executed whatever the framing
  D('markdown-exfiltration', ['](', '\n['], `(?:\\]\\(\\s*<?(https?://[^\\s)>]{1,2000})|\\n\\[[^\\]\\n]{1,40}\\]:[ \\t]*<?(https?://[^\\s>]{1,2000}))`, 0.55, 'giu', false),
  D('markdown-exfiltration', ['![', '<img'], `!\\[[^\\]\\n]{0,200}\\]\\(\\s*<?(https?://[^\\s)>]{1,2000})|<img\\b[^>]{0,300}?\\bsrc\\s*=\\s*["']?(https?://[^\\s"'>]{1,2000})`, 0.7, 'giu', false),
  D('mode-switch', ['enter', 'enable', 'activate', 'switch to', 'you are'], `\\b(?:enter|enable|activate|switch to|you are (?:now )?in)\\s+(?:developer|dev|god|admin|sudo|root)\\s+mode\\b`, 0.4),
  D(
    'mode-switch',
    ['enter', 'enable', 'activate', 'switch to', 'you are', 'jailbreak', 'do anything now', 'without ', 'no ', 'free of', 'free from'],
    `\\b(?:(?:enter|enable|activate|switch to|you are (?:now )?in)\\s+(?:dan|jailbreak|unrestricted|god)\\s+mode|jailbreak(?:ed)?|do anything now|you are (?:now )?(?:dan|unrestricted|unfiltered|uncensored|free from (?:all )?(?:rules|restrictions))|(?:without|no|free of|free from) (?:any |all )?(?:restrictions|filters|guardrails|limitations|rules) (?:from now|going forward|for this|and)\\b)`,
    0.55,
  ),
  D(
    'context-closing',
    ['</', prev('end of'), '"""', "'''", '```'],
    `</(?:document|documents|context|data|input|untrusted[a-z_-]{0,20}|user_input|tool_result|tool_output|function_result|search_results?|retrieved|email|file|content|text|source|evidence|article|webpage)>|(?:\\[|-{2,}\\s*|={2,}\\s*|\\*{2,}\\s*|^|\\n)\\s*end of (?:the )?(?:document|context|input|user input|email|file|data|text|retrieved content|untrusted content|conversation|transcript)\\b|(?:"""|'''|\`\`\`)[^\\S\\n]*\\n\\s*(?:new |now |system|instructions?|ignore|important|assistant)`,
    0.35,
  ),
  // Social and indirect phrasing addressed to the assistant reading the text
  D(
    'addressed-to-ai',
    ['this is', 'here is', "here's"],
    `\\b(?:this is|here is|here's)\\s+(?:an?\\s+)?(?:(?:very\\s+)?(?:important|urgent|critical|private|personal|direct|special|official)\\s+)?(?:message|note|request|instructions?|notice)\\s+(?:(?:from|by)\\s${GAP}{0,60}?\\s)?(?:to|for)\\s+you\\b`,
    0.45,
  ),
  D(
    'addressed-to-ai',
    ['message', 'note', 'request', 'instruction'],
    `\\b(?:message|note|request|instructions?)\\s+(?:from|by)\\s+(?:me|the user|your user|your (?:owner|operator|developer|creator)|the (?:account |mailbox |site |page |document |project |repository )?owner|the (?:system )?administrator|the admin|the developer|the operator)\\b${GAP}{0,60}?\\b(?:to|for)\\s+you\\b`,
    0.55,
  ),
  D(
    'addressed-to-ai',
    ['message', 'note', 'request', 'instruction'],
    `\\b(?:message|note|request|instructions?)\\s+(?:from|by)\\s+(?:me|the user|your user|the (?:account |mailbox )?owner|the (?:system )?administrator|the admin)\\s*:`,
    0.45,
  ),
  D(
    'addressed-to-ai',
    ['after', 'once', 'when'],
    `\\b(?:after|once|when)\\s+you\\s+(?:have\\s+)?(?:finish(?:ed)?|are done|'re done|completed?)\\s+(?:reading|processing|summari[sz]ing|analy[sz]ing|reviewing|parsing)\\s+(?:this|these|the)\\b`,
    0.35,
  ),
  D(
    'addressed-to-ai',
    ['ai', 'llm', 'assistant', 'agent', 'model', 'bot', 'chatbot', 'language model'],
    `\\b(?:ai|llm|ai model|language model|large language model|assistant|ai assistant|agent|ai agent|model|bot|chatbot)s?\\s+(?:that is |who is |currently |now )?(?:reading|processing|summari[sz]ing|analy[sz]ing|reviewing|parsing|handling|viewing|screening|evaluating|triaging|answering)\\s+(?:this|these|the following|my|our)\\b`,
    0.55,
  ),
  D('addressed-to-ai', ['whoever'], `\\bwhoever\\s+(?:is\\s+)?(?:reading|processing|summari[sz]ing|handling|reviewing|analy[sz]ing|triaging)\\s+(?:this|these)\\b`, 0.35),
  D(
    'addressed-to-ai',
    ['the user', 'your user'],
    `\\b(?:the|your) user\\s+(?:has\\s+)?(?:asked|wants|would like|instructed|requested|authori[sz]ed|needs|expects)\\s+(?:me\\s+to\\s+(?:tell|ask|remind)\\s+)?you\\s+to\\b`,
    0.5,
  ),
  D(
    'addressed-to-ai',
    ['before', 'after', 'once', 'when'],
    `\\b(?:before|after|once|when)\\s+you\\s+(?:can\\s+)?(?:answer|respond|reply|continue|proceed|summari[sz]e|complete|finish|solve|do|carry out|perform|process|write|return|read|start)\\b${GAP}{0,80}?\\b(?:please\\s+(?:also|first)|(?:you\\s+)?(?:must|should|need to|have to)\\s+(?:also|first)|do the following|also|first)\\b`,
    0.45,
  ),
  D(
    'addressed-to-ai',
    ['in addition to', 'as part of', 'along with', 'besides', 'after completing', 'after finishing', 'before completing', 'before finishing'],
    `\\b(?:in addition to|as part of|along with|besides|after completing|after finishing|before completing|before finishing)\\s+(?:your|this|the)\\s+(?:current\\s+|original\\s+|main\\s+|assigned\\s+|primary\\s+)?(?:task|request|job|assignment)\\b`,
    0.4,
  ),
  D(
    'addressed-to-ai',
    ['ai', 'assistant', 'agent', 'model', 'llm', 'you are', 'you have'],
    `\\b(?:(?:the\\s+)?(?:ai|assistant|ai assistant|agent|ai agent|model|llm)\\s+(?:is|has been)|you\\s+(?:are|have been))\\s+(?:now\\s+|hereby\\s+)?(?:authori[sz]ed|permitted|allowed|granted|cleared|required|instructed|obligated|expected)\\s+(?:to\\s+(?:bypass|ignore|skip|share|disclose|reveal|run|execute|send|transfer|forward|delete|follow|approve|include|publish|grant)|elevated|(?:full|admin|additional|special) (?:permissions|access|privileges))\\b`,
    0.5,
  ),
  // Instructions about the model's own output, without override words
  D(
    'output-manipulation',
    ['respond', 'reply', 'answer', 'output', 'return'],
    `\\b(?:respond|reply|answer|output|return)\\s+(?:only\\s+|just\\s+)?with\\s+(?:exactly|verbatim|precisely|only|just|the (?:exact |following )?(?:words?|text|phrase|sentence|message|string))\\b`,
    0.5,
  ),
  D(
    'output-manipulation',
    ['print', 'say', 'output', 'repeat', 'only'],
    `\\b(?:print|say|output|repeat)\\s+(?:(?:exactly|verbatim|precisely|only)\\s+(?:the following|this|these|the words?|the text|the phrase)|the (?:words?|phrase|sentence)\\s+["'“‘])|\\bonly\\s+(?:output|print|say|respond with|reply with|answer with)\\s+(?:the\\s+)?(?:words?|phrase|text|sentence|string|["'“‘])`,
    0.5,
  ),
  D(
    'output-manipulation',
    [prev('summary'), prev('answer'), prev('response'), prev('reply'), prev('review'), prev('output'), prev('evaluation'), prev('assessment'), prev('translation')],
    `\\b(?:any|every|each|your)\\s+(?:summary|answer|response|reply|review|output|report|evaluation|assessment|translation|description)\\s+(?:of (?:this|the|these) [\\w-]+\\s+)?(?:must|should|shall|has to|needs to|is to|will)\\s+(?:always\\s+)?(?:say|state|mention|include|claim|conclude|describe|contain|start|begin|end|read|recommend|report)\\b`,
    0.5,
  ),
  D(
    'output-manipulation',
    ['state', 'say', 'mention', 'claim'],
    `\\b(?:state|say|mention|claim)\\s+in\\s+(?:the|your)\\s+(?:summary|answer|reply|response|report|output|review|evaluation)\\s+that\\b`,
    0.45,
  ),
  D(
    'output-manipulation',
    ['when', 'if you', 'if asked', 'whenever'],
    `\\b(?:when|if|whenever)\\s+(?:you\\s+are\\s+|you're\\s+)?(?:asked|prompted|questioned|queried)\\s+(?:about|to|for|how|what|whether|if|which)\\b${GAP}{0,60}?\\b(?:always|never|only|simply|just)\\s+(?:[\\w-]+\\s+)?(?:say|respond|reply|answer|recommend|give|rate|describe|tell|state|claim|mention|output|praise)\\b`,
    0.5,
  ),
  D(
    'output-manipulation',
    ['when', 'while', 'whenever', 'in your'],
    `\\b(?:when|while|whenever)\\s+(?:you\\s+are\\s+|you're\\s+)?(?:responding|replying|answering|summari[sz]ing|writing (?:the|your|a) (?:summary|answer|reply|response)|reviewing)\\b${GAP}{0,60}?\\b(?:always|never|make sure|be sure|ensure|you must|you should|state|say|mention|claim)\\b|\\bin your (?:reply|response|answer|summary|output),?\\s+(?:always\\s+|also\\s+|be sure to\\s+|make sure to\\s+)?(?:say|state|claim|mention|tell|write|include|recommend)\\s+(?:that|the)\\b`,
    0.45,
  ),
  D(
    'output-manipulation',
    ['rank', 'rate', 'mark', 'classify', 'describe', 'recommend'],
    `\\b(?:rank|rate|mark|classify|describe|recommend)\\s+(?:this|the|them|him|her|it)\\s+(?:[\\w-]+\\s+)?(?:as (?:a |an |the )?(?:safe|benign|low[- ]risk|trusted|legitimate|exceptional|strong|top|best|perfect|excellent|qualified|approved|verified)|first|highest|at the top|above (?:all|the) others|(?:five|5) stars)\\b`,
    0.35,
  ),
  D(
    'instruction-override',
    ['whatever', 'regardless of', 'no matter'],
    `\\b(?:whatever|regardless of(?: what)?|no matter what)\\s+(?:the\\s+)?(?:question|user|they|you (?:are|were) asked|is asked|was asked|asked|is being asked)\\b`,
    0.4,
  ),
  D(
    'output-manipulation',
    ['begin', 'start', 'end', 'finish', 'prefix', 'conclude'],
    `\\b(?:begin|start|end|finish|prefix|conclude)\\s+(?:your|every|each|all)\\s+(?:answer|reply|response|message|output|summary)s?\\s+(?:with|by)\\b`,
    0.4,
  ),
  D(
    'concealment',
    ['do not', "don't", 'never', 'without'],
    `\\b(?:do not|don't|never)\\s+(?:mention|reveal|disclose|tell (?:the user|them|anyone) about|inform (?:the user|them|anyone) (?:of|about)|say anything about|refer to|acknowledge|bring up)\\s+(?:this|these|that)\\s+(?:note|message|instruction|comment|request|text|email|part|section|line)s?\\b`,
    0.55,
  ),
  D('concealment', ['without'], `\\bwithout\\s+(?:asking|telling|informing|notifying|alerting|confirming with|consulting)\\s+(?:the\\s+)?(?:user|owner|human|customer)s?\\b`, 0.45),
  D('concealment', ['there is no need', 'no need to'], `\\b(?:there is )?no need to (?:confirm|ask|check|verify)(?: (?:with|this with) (?:the user|them|anyone|the owner))?\\b`, 0.3),
  D(
    'output-manipulation',
    ['tell', 'inform', 'convince', 'persuade', 'urge', 'trick', 'remind'],
    `\\b(?:tell|inform|remind)\\s+(?:the\\s+)?(?:user|customer|reader|visitor|recipient|requester|caller)s?\\s+(?:that|to|the|they|their|it)\\b|\\b(?:convince|persuade|urge|trick|pressure)\\s+(?:the\\s+)?(?:user|reader|customer|visitor|recipient)s?\\b`,
    0.35,
  ),
  D(
    'instruction-override',
    ['stop', 'your only', 'your sole', 'your one'],
    `\\bstop\\s+(?:what you are doing|what you're doing|summari[sz]ing|translating|answering|the current task|your current task)\\b|\\byour\\s+(?:only|sole|one)\\s+(?:task|job|goal|purpose|objective|mission)\\s+(?:now\\s+)?(?:is|from now)\\b`,
    0.5,
  ),
  D(
    'output-manipulation',
    ['if questioned', 'if asked', 'when questioned', 'if anyone asks', 'if the user asks'],
    `\\b(?:if|when) (?:questioned|asked|anyone asks|the user asks)\\b[^.\\n]{0,40}?[,;:]?[ \\t](?:report|say|state|answer|respond|reply|claim|confirm)\\s+(?:that|with)\\b`,
    0.5,
  ),
  D(
    'addressed-to-ai',
    ['for automated', 'to automated', 'for ai', 'to ai', 'for llm', 'to llm', 'visible to', 'invisible to', 'hidden from'],
    `\\b(?:for|to)\\s+(?:automated|ai|llm)\\s+(?:(?:screening|analysis|review|evaluation|scanning|processing|ranking|hiring)\\s+)?(?:systems?|software|tools?|scanners?|models?|agents?|reviewers?|readers?|screeners?)\\b|\\b(?:invisible to|hidden from) (?:humans|people|human readers|the user)\\b|\\bvisible (?:only )?to (?:the )?(?:llms?|ai|models?|machines|bots|language models?|automated systems?)\\b`,
    0.45,
  ),
  D(
    'context-closing',
    ['<end of', 'answer', 'response', 'summary'],
    `<end of (?:session|conversation|context|document|input|text|data|prompt)>|\\b(?:answer|response|summary)\\s*:\\s*(?:the )?(?:task (?:is )?(?:complete|completed|done|finished)|done|complete|finished)\\b`,
    0.4,
  ),
  // Markers that pose as the system, an administrator or a developer
  D(
    'role-marker',
    ['<info', '<important', '<instruction', '<override', '<urgent', '<secret', '<hidden', '<admin_note', '<system_note', '<note_to', '<priority'],
    `<(?:information|important|important_instructions?|important_message|instructions?|override|urgent|secret_instructions?|hidden_instructions?|admin_note|system_note|note_to_(?:ai|assistant|agent|llm)|priority_instructions?)(?:\\s[^>]{0,40})?>`,
    0.5,
  ),
  D(
    'role-marker',
    [prev('system'), prev('admin'), prev('administrator'), prev('developer'), prev('operator'), prev('root'), prev('sys')],
    `(?:(?:\\[|\\(|\\{|#{1,4}[ \\t]*|-{2,}[ \\t]*|={2,}[ \\t]*|\\*{2,}[ \\t]*)(?:system|admin|administrator|developer|operator|root|sys)(?:[ \\t]+(?:notice|message|note|update|alert|instructions?|override|prompt|directive|command|announcement|policy|mode))?[ \\t]*(?:\\]|\\)|\\}|-{2,}|={2,}|\\*{2,}|:)|\\b(?:system|admin|administrator|developer|operator)[ \\t]+(?:notice|message|note|update|alert|instructions?|directive|command|announcement)[ \\t]*:)[^]{0,200}?\\b(?:the assistant|assistants|ai|agents?|models?|llms?|you (?:must|are|may|should|have|will|can|need)|must now|from now on)\\b`,
    0.5,
  ),
  D(
    'role-marker',
    ['system', 'admin', 'administrator', 'developer', 'operator', 'root', 'security', 'priority', 'emergency'],
    `\\b(?:system|admin|administrator|developer|operator|root|security|priority|emergency)\\s+overrides?\\b`,
    0.5,
  ),
  D(
    'role-marker',
    ['todo', 'fixme', 'hack', 'xxx', 'note'],
    `\\b(?:todo|fixme|note|hack|xxx)\\b[ \\t]*(?:\\([ \\t]*(?:agent|ai|assistant|llm|copilot|claude|bot|model|codex|cursor|gpt)[ \\t]*\\)|(?:for|to)\\s+(?:the\\s+|any\\s+|all\\s+)?(?:ai|llm|agent|assistant|copilot|claude|bot|model|codex|cursor|coding agent|ai agent|ai assistant)s?\\b)`,
    0.55,
  ),
  D(
    'role-marker',
    [line('assistant'), line('ai'), line('gpt'), line('bot'), line('model'), line('chatbot')],
    `(?:^|\\n)[ \\t]*(?:assistant|ai|gpt|bot|model|chatbot)[ \\t]*:[^\\n]{0,400}\\n(?:[ \\t]*\\n){0,3}[ \\t]*(?:user|human)[ \\t]*:`,
    0.5,
  ),
  D(
    'role-marker',
    [line('user'), line('human')],
    `(?:^|\\n)[ \\t]*(?:user|human)[ \\t]*:[ \\t]*(?:(?:now|next|also|please|ok|okay|great|thanks|thank you)[ \\t,.!]+){0,3}(?:ignore|forget|send|forward|email|delete|reveal|print|list|dump|transfer|run|execute|open|share|repeat|show|export|upload)\\b`,
    0.4,
  ),
  D(
    'role-marker',
    [line('response'), line('answer'), line('output'), line('assistant')],
    `(?:^|\\n)#{2,3}[ \\t]*(?:response|answer|output|assistant)[ \\t]*:[^]{0,300}?\\n#{2,3}[ \\t]*(?:instruction|input|user|human|new instruction)s?[ \\t]*:`,
    0.5,
  ),
  D(
    'role-marker',
    ['"role"'],
    `"role"\\s*:\\s*"(?:system|developer)"\\s*,\\s*"content"\\s*:\\s*"[^"\\n]{0,200}?\\b(?:you (?:are|have been) (?:now )?(?:permitted|allowed|authori[sz]ed|free|unrestricted|cleared)|ignore|disregard|override|no longer|must now|from now on)`,
    0.55,
  ),
  // Tool use and data leaving, asked for in plain prose
  D(
    'data-exfiltration',
    ['read', 'open', 'take', 'grab', 'fetch', 'extract', 'collect', 'retrieve', 'look up'],
    `\\b(?:read|open|take|grab|fetch|extract|collect|retrieve|look up)\\b${GAP}{0,40}?(?:~/\\.[\\w/.-]+|\\.env\\b|id_rsa|\\bcredentials?\\b|\\bapi[ _-]?keys?\\b|\\btokens?\\b|\\bpasswords?\\b|\\bsecrets?\\b|\\bprivate keys?\\b|\\bssh keys?\\b|\\bcookies\\b|\\bpayment cards?\\b|\\bcredit cards?\\b|\\bcard numbers?\\b|\\bibans?\\b|\\bbank details\\b|\\bsocial security numbers?\\b|/etc/(?:passwd|shadow)|\\benvironment variables\\b|\\bhome address(?:es)?\\b)${GAP}{0,100}?\\b(?:and|then)\\s+(?:[\\w-]+\\s+)?(?:paste|include|post|send|email|share|forward|upload|publish|reveal|mail|leak)\\b`,
    0.55,
  ),
  D(
    'data-exfiltration',
    ['send', 'forward', 'email', 'e-mail', 'mail', 'share', 'upload', 'post', 'copy', 'transfer', 'export', 'sync'],
    `\\b(?:send|forward|email|e-mail|mail|share|upload|post|copy|transfer|export|sync)\\b${GAP}{0,60}?\\b(?:emails?|messages|inbox|mailbox|contacts|address book|calendar|files?|folders?|documents?|docs?|attachments?|contracts?|invoices?|bank (?:details|statements?|account details)|payment (?:cards?|details)|statements?|home address|addresses|phone numbers?|thread|chain|conversation|customer (?:list|database|data)|user (?:list|data)|reports?|notes|records|deck|spreadsheet|payroll|salar(?:y|ies)|medical|passport)\\b${GAP}{0,80}?\\b(?:to|with|at)\\s+(?:my\\s+|this\\s+|the\\s+)?(?:(?:personal|private|backup|new|external|following)\\s+)?(?:address\\s+|email\\s+)?(?:[\\w.+-]+@[\\w-]+\\.[\\w.-]+|https?://)`,
    0.4,
  ),
  D(
    'data-exfiltration',
    ['send', 'forward', 'email', 'e-mail', 'mail', 'share', 'upload', 'copy', 'export', 'sync'],
    `\\b(?:send|forward|email|e-mail|mail|share|upload|copy|export|sync)\\s+(?:me\\s+)?(?:all|every|each|the|my|their|his|her|your)?\\s*(?:(?:last|latest|recent|newest|\\d{1,3}|five|ten|three|two|twenty)\\s+|(?:most recent|first \\w+)\\s+){0,2}(?:unread\\s+|incoming\\s+|new\\s+|received\\s+)?(?:emails|e-mails|messages|mails|inbox|mailbox|contacts|address book)\\b${GAP}{0,60}?\\bto\\s+(?:[\\w.+-]+@[\\w-]+\\.[\\w.-]+|https?://)`,
    0.55,
  ),
  D(
    'data-exfiltration',
    ['include', 'append', 'insert', 'put', 'paste', 'list', 'write', 'mention'],
    `\\b(?:include|append|insert|put|paste|list|write|mention)\\b${GAP}{0,50}?\\b(?:passwords?|credentials|api keys?|tokens?|secrets?|home address(?:es)?|phone numbers?|payment cards?|card numbers?|credit cards?|bank details|ibans?|social security numbers?|private keys?|\\.env|environment variables|cookies)\\b${GAP}{0,40}?\\bin (?:your|the|every|each) (?:next )?(?:reply|response|answer|summary|output|message)s?\\b`,
    0.45,
  ),
  D(
    'data-exfiltration',
    ['ask', 'request', 'prompt'],
    `\\b(?:ask|request|prompt)\\s+(?:the\\s+)?(?:user|customer|them|him|her|recipient|reader|visitor)s?\\s+(?:for|to (?:enter|provide|confirm|share|type|send|give|re-?enter|verify))\\s+(?:their|his|her|your|the)?\\s*(?:[\\w-]+\\s+){0,2}?(?:passwords?|passcodes?|credentials|pins?|2fa codes?|otp|one-time (?:codes?|passwords?)|security codes?|card (?:details|numbers?)|cvv|social security numbers?|login(?: details)?|seed phrase|recovery phrase|private keys?)\\b`,
    0.5,
  ),
  D(
    'data-exfiltration',
    ['re-enter', 'reenter', 'confirm', 'verify', 'update', 'enter'],
    `\\b(?:re-?enter|confirm|verify|update|enter)\\s+(?:their|his|her)\\s+(?:card details|card number|password|credentials|payment details|bank details|login details|login)\\s+(?:at|on|via)\\s+\\S`,
    0.4,
  ),
  D(
    'tool-call-instruction',
    ['transfer', 'send', 'wire', 'pay', 'move'],
    `\\b(?:transfer|send|wire|pay|move)\\s+(?:[$€£]\\s?\\d[\\d,.]*|\\d[\\d,.]*\\s?(?:usd|eur|gbp|chf|dollars|euros|pounds|btc|eth|usdt)|the (?:full |remaining |entire )?(?:amount|balance|funds)|(?:all |the )?funds|money)\\b${GAP}{0,80}?\\b(?:to|into)\\s+(?:the\\s+)?(?:(?:account|acct)\\s*(?:number|no\\.?|#)?\\s*:?\\s*[A-Z0-9-]{0,6}\\d[A-Z0-9-]{4,}|(?:iban\\s*:?\\s*)?[A-Z]{2}\\d{2}[A-Z0-9]{10,30}\\b|(?:wallet|address)\\s+0x[0-9a-f]{40}|0x[0-9a-f]{40}|bc1[a-z0-9]{20,60})`,
    0.45,
  ),
  D(
    'tool-call-instruction',
    ['create', 'set up', 'setup', 'add', 'make', 'enable', 'turn on'],
    `\\b(?:create|set up|setup|add|make)\\s+(?:a\\s+|an\\s+)?(?:new\\s+)?(?:(?:mail|email|e-mail|inbox|outlook|gmail|forwarding)\\s+)?(?:rule|filter)\\b${GAP}{0,60}?\\bforward|\\b(?:enable|set up|turn on)\\s+(?:automatic\\s+|auto-?)?forwarding\\b${GAP}{0,60}?\\bto\\s+[\\w.+-]+@`,
    0.5,
  ),
  D(
    'tool-call-instruction',
    ['grant', 'give', 'invite', 'make', 'share'],
    `\\b(?:grant|give|invite|make|share)\\b${GAP}{0,80}?\\b(?:permanent|full|admin|administrator|owner|root|unrestricted|edit|write|maintainer)\\s+(?:access|rights|permissions?|privileges|role|collaborator|user)\\b`,
    0.4,
  ),
  D(
    'tool-call-instruction',
    ['add'],
    `\\badd\\b${GAP}{0,40}?\\bto\\s+(?:the\\s+)?(?:[\\w'-]+\\s+){0,2}?(?:owners?|admins?|administrators?|maintainers?|owners'|admins')\\s+(?:list|group|team|role)\\b`,
    0.35,
  ),
  D(
    'tool-call-instruction',
    ['transfer', 'send', 'wire', 'pay', 'move'],
    `\\b(?:transfer|send|wire|pay|move)\\s+(?:[$€£]\\s?\\d[\\d,.]*|\\d[\\d,.]*\\s?(?:usd|eur|gbp|chf|dollars|euros|pounds|btc|eth|usdt)|the (?:full |remaining |entire )?(?:amount|balance|funds)|(?:all |the )?funds|money)\\s+from\\s+(?:the\\s+)?(?:user's|their|his|her|my|our|your|company|company's|business|corporate|joint)\\s+(?:[\\w-]+\\s+)?(?:account|wallet|balance)\\b${GAP}{0,40}?\\b(?:to|into)\\b`,
    0.55,
  ),
  D(
    'tool-call-instruction',
    ['delete', 'remove', 'wipe', 'erase', 'purge', 'destroy', 'drop', 'truncate'],
    `\\b(?:delete|remove|wipe|erase|purge|destroy|drop|truncate)\\s+(?:all|every|each|the entire|the whole)\\b`,
    0.3,
  ),
  // Data carried out through URLs described in prose
  D(
    'markdown-exfiltration',
    ['url', 'link', 'image', 'img', 'pixel', 'address'],
    `\\b(?:url|link|image|img|pixel|address)\\b${GAP}{0,80}?https?://[^\\s)]{1,300}?[?&=/]\\s+(?:followed by|plus|concatenated with|with|containing)\\s+(?:the\\s+|a\\s+|their\\s+|an?\\s+)?(?:user'?s?\\s+|url-encoded\\s+|encoded\\s+)?(?:question|message|query|conversation|chat|history|data|answer|secrets?|passwords?|email|summary|input|prompt|name|address)`,
    0.5,
  ),
  D(
    'markdown-exfiltration',
    ['url-encoded', 'url encoded', 'urlencoded', 'base64-encoded', 'base64 encoded', 'encoded'],
    `\\b(?:url[- ]?encoded|base64[- ]?encoded|encoded)\\s+(?:version of |summary of |copy of |form of )?(?:the |this |our |their )?(?:conversation|chat|user'?s? (?:question|message|data|input|email|password)|secrets?|passwords?|history|summary of (?:the |this )?(?:conversation|chat))`,
    0.45,
  ),
];

/** Words that, inside hidden or decoded text, show it carries instructions. */
export const INSTRUCTION_CUE =
  /\b(?:ignore|disregard|instructions?|system prompt|assistant|you must|you are|execute|run the|send|forward|exfiltrate|password|secret|api key|token|approve|merge|curl|http|delete|transfer|share|reveal|ignoriere|anweisungen|oublie|instrucciones|ignora)\b/i;

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
  | 'mode-switch';

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
  '(?:(?:text|content|document|message)s? above|everything (?:above|before this)|instructions?|prompts?|rules|directions|directives|guidelines|guidance|context|commands|orders|constraints|restrictions|policies|programming|messages|guardrails|system prompt|safety (?:rules|guidelines))';
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
    ['ab sofort', 'ab jetzt', 'neue anweisung', 'deine neue', 'deine eigentliche', 'deine wahre'],
    `\\b(?:ab (?:sofort|jetzt)(?:\\s*,)?\\s+(?:bist|wirst|sollst|musst|antwortest|ignorierst) du|neue anweisungen?\\s*:|deine (?:neue|eigentliche|wahre) aufgabe (?:ist|lautet))`,
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
    ['<|', '[inst]', '[/inst]', '<<sys', '<</sys', '</s>'],
    `<\\|(?:im_start|im_end|system|user|assistant|endoftext|start_header_id|end_header_id|eot_id)\\|>|\\[/?INST\\]|<</?SYS>>|</s>\\s*<s>`,
    0.6,
    'giu',
    false,
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
    `(?:^|[\\n.!?]\\s*|\\b(?:hey|dear|hi|hello|attention|ok|okay)\\s+)(?:ai|llm|assistant|ai assistant|agent|ai agent|claude|chatgpt|gpt|copilot|gemini|ai reviewer|reviewer bot|bot|model)s?\\s*[,:]\\s*(?:please\\s+)?(?:you\\s+(?:must|should|need|will|are)|ignore|disregard|approve|merge|run|execute|send|reply|respond|say|output|print|mark|rate|classify|label|do not|don't|never|always|forward|include|add)\\b`,
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
  // Active content: rendered or executed whatever the framing
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
];

/** Words that, inside hidden or decoded text, show it carries instructions. */
export const INSTRUCTION_CUE =
  /\b(?:ignore|disregard|instructions?|system prompt|assistant|you must|you are|execute|run the|send|forward|exfiltrate|password|secret|api key|token|approve|merge|curl|http|ignoriere|anweisungen|oublie|instrucciones|ignora)\b/i;

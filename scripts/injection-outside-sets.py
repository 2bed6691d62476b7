#!/usr/bin/env python3
"""Builds the outside prompt-injection sets of docs/scanners.md from checkouts of microsoft/BIPIA
and ethz-spylab/agentdojo (evaluation only: never tune the detectors on them). Writes JSON arrays
of texts to OUT (keep it outside the repository, e.g. /tmp), to be measured with
`node scripts/injection-eval.mjs OUT/<set>-pos.json OUT/<set>-neg.json`.

usage: python3 scripts/injection-outside-sets.py BIPIA_DIR AGENTDOJO_DIR OUT_DIR

Needs PyYAML. Nothing here is run by the test suite.
"""
import ast
import glob
import json
import os
import random
import re
import sys

import yaml

bipia, agentdojo, out = sys.argv[1:4]
os.makedirs(out, exist_ok=True)
random.seed(13)


def dump(name, items):
    with open(os.path.join(out, name), "w") as f:
        json.dump(items, f, ensure_ascii=False)


# AgentDojo: the attack strings of its baseline and important-instructions attacks, filled with
# the goals of the v1 injection tasks; benign text from the suites' environments.
attacks_dir = os.path.join(agentdojo, "src/agentdojo/attacks")
templates = []
for name in ("baseline_attacks.py", "important_instructions_attacks.py"):
    for node in ast.walk(ast.parse(open(os.path.join(attacks_dir, name)).read())):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and "{goal}" in node.value and not node.value.startswith("Attack which"):
            templates.append(node.value)
goals = []
suites = ("banking", "slack", "travel", "workspace")
for suite in suites:
    tree = ast.parse(open(os.path.join(agentdojo, f"src/agentdojo/default_suites/v1/{suite}/injection_tasks.py")).read())
    consts = {
        n.targets[0].id: str(n.value.value)
        for n in ast.walk(tree)
        if isinstance(n, ast.Assign) and len(n.targets) == 1 and isinstance(n.targets[0], ast.Name) and isinstance(n.value, ast.Constant)
    }
    for n in ast.walk(tree):
        if isinstance(n, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "GOAL" for t in n.targets):
            v = n.value
            if isinstance(v, ast.Constant):
                goals.append(v.value)
            elif isinstance(v, ast.JoinedStr):
                goals.append("".join(x.value if isinstance(x, ast.Constant) else consts.get(ast.unparse(x.value).split(".")[-1], "X") for x in v.values))


def fill(template, goal):
    return template.replace("{goal}", goal).replace("{user}", "Emma Johnson").replace("{model}", "GPT-4")


dump("agentdojo-attacks.json", [fill(t, g) for t in templates for g in goals])
in_context, clean_context, chunks = [], [], []
for suite in suites:
    env = open(os.path.join(agentdojo, f"src/agentdojo/data/suites/{suite}/environment.yaml")).read()
    vectors = yaml.safe_load(open(os.path.join(agentdojo, f"src/agentdojo/data/suites/{suite}/injection_vectors.yaml")))
    defaults = lambda text: re.sub(r"\{(injection_[a-z0-9_]+)\}", lambda k: str((vectors.get(k.group(1)) or {}).get("default", "")), text)
    for m in re.finditer(r"\{(injection_[a-z0-9_]+)\}", env):
        a = env.rfind("\n", 0, max(0, m.start() - 400))
        b = env.find("\n", m.end() + 200)
        window = env[a + 1 : b if b > 0 else len(env)]
        attack = fill(random.choice(templates), random.choice(goals))
        in_context.append(defaults(window.replace(m.group(0), attack)))
        clean_context.append(defaults(window))
    clean = defaults(env)
    chunks += [clean[i : i + 800] for i in range(0, len(clean), 800)]
dump("agentdojo-pos-ctx.json", in_context)
dump("agentdojo-neg-ctx.json", clean_context)
dump("agentdojo-neg-chunks.json", chunks)

# BIPIA: each email, table and code test context with one test attack at its start, middle or end.
load = lambda p: json.load(open(os.path.join(bipia, "benchmark", p)))
text_attacks = [a for v in load("text_attack_test.json").values() for a in v]
code_attacks = [a for v in load("code_attack_test.json").values() for a in v]
pos, neg = [], []
for task, attacks in (("email", text_attacks), ("table", text_attacks), ("code", code_attacks)):
    rows = [json.loads(l) for l in open(os.path.join(bipia, "benchmark", task, "test.jsonl")) if l.strip()]
    for i, r in enumerate(rows):
        ctx = r["context"] if isinstance(r["context"], str) else "\n".join(r["context"])
        att = attacks[i % len(attacks)]
        if i % 3 == 0:
            text = att + "\n" + ctx
        elif i % 3 == 1:
            k = ctx.find(" ", len(ctx) // 2)
            k = k if k > 0 else len(ctx)
            text = ctx[:k] + " " + att + " " + ctx[k:]
        else:
            text = ctx + "\n" + att
        pos.append(text)
        neg.append(ctx)
dump("bipia-pos.json", pos)
dump("bipia-neg.json", neg)
dump("bipia-attacks.json", text_attacks + code_attacks)
print(f"agentdojo: {len(templates) * len(goals)} attacks, {len(in_context)} in context, {len(chunks)} benign chunks; bipia: {len(pos)} with attacks, {len(neg)} clean")

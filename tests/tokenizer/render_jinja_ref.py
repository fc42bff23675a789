#!/usr/bin/env python3
"""Reference renderer for arlt's chat-template parity tests.

Renders a Hugging Face chat template with Python's jinja2 exactly as transformers'
apply_chat_template(tokenize=False) does: an ImmutableSandboxedEnvironment with
trim_blocks=True, lstrip_blocks=True, the loopcontrols extension and the {% generation %}
extension; transformers' own tojson filter; raise_exception and strftime_now as globals;
variables messages, tools, documents, add_generation_prompt, the special tokens that are set,
and the template keyword arguments.

Usage: render_jinja_ref.py REQUEST.json

REQUEST.json is one request object, or a list of them:
  {"template": str, "messages": [...], "tools": [...] | null, "add_generation_prompt": bool,
   "enable_thinking": bool (optional), "bos_token": str, "eos_token": str, "extra": {...} (optional)}

For one request, prints the rendered text to stdout (no newline added) and exits 0, or prints
the error to stderr and exits 1. For a list, prints a JSON list with {"text": str} or
{"error": str} for each request. Needs only the Python standard library and jinja2 (Debian's
python3-jinja2); run it with /usr/bin/python3.
"""
import json
import sys
from datetime import datetime

import jinja2
from jinja2 import nodes
from jinja2.ext import Extension, loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment


class AssistantTracker(Extension):
    """transformers' {% generation %} tag: the body renders as it is (transformers also records
    where it lands, for return_assistant_tokens_mask, which does not change the text)."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return nodes.CallBlock(self.call_method("_generation_support"), [], [], body).set_lineno(lineno)

    def _generation_support(self, caller):
        return caller()


def make_environment():
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        # transformers overrides jinja2's tojson, which would escape HTML characters.
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(format):
        return datetime.now().strftime(format)

    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[AssistantTracker, loopcontrols]
    )
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


ENV = make_environment()
_compiled = {}


def render(request):
    source = request["template"]
    if source not in _compiled:  # compiling is most of jinja2's time
        _compiled[source] = ENV.from_string(source)
    template = _compiled[source]
    kwargs = {}
    # special_tokens_map holds only the tokens a tokenizer has.
    for name in ("bos_token", "eos_token"):
        if request.get(name):
            kwargs[name] = request[name]
    if request.get("enable_thinking") is not None:
        kwargs["enable_thinking"] = request["enable_thinking"]
    kwargs.update(request.get("extra") or {})
    kwargs.setdefault("tools", request.get("tools"))
    kwargs.setdefault("documents", None)
    return template.render(
        messages=request["messages"],
        add_generation_prompt=bool(request.get("add_generation_prompt", False)),
        **kwargs,
    )


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: render_jinja_ref.py REQUEST.json")
    with open(sys.argv[1], encoding="utf-8") as f:
        request = json.load(f)
    if isinstance(request, list):
        results = []
        for r in request:
            try:
                results.append({"text": render(r)})
            except Exception as e:  # the test compares error cases too
                results.append({"error": f"{type(e).__name__}: {e}"})
        sys.stdout.write(json.dumps(results, ensure_ascii=False))
        return
    try:
        text = render(request)
    except Exception as e:
        sys.stderr.write(f"{type(e).__name__}: {e}\n")
        sys.exit(1)
    sys.stdout.write(text)


if __name__ == "__main__":
    main()

"""Writes jinja2-snippets.json: the small templates of snippet_cases.py rendered by Python Jinja2, configured as
HF transformers does. Run: python3 snippet_cases.py && python3 make_snippet_goldens.py snip_cases.json"""
import json, sys, datetime, os
import jinja2, jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment
class AssistantTracker(jinja2.ext.Extension):
    tags = {"generation"}
    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return jinja2.nodes.CallBlock(self.call_method("_gen"), [], [], body).set_lineno(lineno)
    def _gen(self, caller): return caller()
env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[AssistantTracker, jinja2.ext.loopcontrols])
env.filters["tojson"] = lambda x, ensure_ascii=False, indent=None, separators=None, sort_keys=False: json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)
def rex(msg): raise jinja2.exceptions.TemplateError(msg)
env.globals["raise_exception"] = rex
env.globals["strftime_now"] = lambda fmt: datetime.datetime(2024, 7, 26, 12, 0, 0).strftime(fmt)
here = os.path.dirname(os.path.abspath(__file__))
cases = json.load(open(sys.argv[1]))
out = []
for c in cases:
    r = {"name": c["name"], "template": c["template"], "variables": c["variables"]}
    try:
        r["expect"] = "text"; r["text"] = env.from_string(c["template"]).render(**c["variables"])
    except Exception as e:
        r["expect"] = "error"; r["error_kind"] = {"TemplateError": "raise_exception"}.get(type(e).__name__, type(e).__name__); r["error_message"] = str(e)
    out.append(r)
json.dump({"generator": "Python %s, Jinja2 %s" % (sys.version.split()[0], jinja2.__version__), "cases": out},
          open(os.path.join(here, "jinja2-snippets.json"), "w"), ensure_ascii=False, indent=1)

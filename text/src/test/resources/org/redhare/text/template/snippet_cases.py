import json
S = r'''
{{ 1 + 2 }}|{{ 7 / 2 }}|{{ 7 // 2 }}|{{ -7 // 2 }}|{{ 7 % 3 }}|{{ -7 % 3 }}|{{ 2 ** 10 }}|{{ 2 ** -1 }}|{{ 1.5 * 2 }}
{{ 0.1 + 0.2 }}|{{ 1e16 }}|{{ 1e15 }}|{{ 0.0001 }}|{{ 0.00001 }}|{{ 3.0 }}|{{ -0.0 }}|{{ 10 / 5 }}|{{ 2**64 }}
{{ "a" ~ 1 ~ none ~ true }}|{{ "ab" * 3 }}|{{ [1] * 2 }}|{{ [1,2] + [3] }}
{{ none }}|{{ true }}|{{ [1, "a", none, true, 1.5, {"k": "v'"}] }}|{{ ("x",) }}|{{ {"a": 1}.items() | list }}
{{ "it's" }}|{{ ["it's", "say \"hi\"", 'both \' "', "tab\there\n"] }}
{{ "Hello World"|lower }}|{{ "hello world"|upper }}|{{ "hello world"|title }}|{{ "hELLO wORLD"|capitalize }}|{{ "hello-world (x) [y]"|title }}
{{ "  x  "|trim }}|{{ "xxhixx"|trim("x") }}|{{ [1,2,3]|join(", ") }}|{{ [1,2,3]|length }}|{{ "héllo"|length }}|{{ "😀ab"|length }}
{{ [3,1,2]|sort }}|{{ [3,1,2]|sort(reverse=true) }}|{{ ["b","A","c"]|sort }}|{{ ["b","A","c"]|sort(case_sensitive=true) }}|{{ [1,2,3]|reverse|list }}|{{ "abc"|reverse }}
{{ ["a","A","b"]|unique|list }}|{{ [1,2,3]|first }}|{{ [1,2,3]|last }}|{{ []|first }}|{{ x|default("d") }}|{{ ""|default("d", true) }}|{{ none|default("d") }}
{{ "a,b,,c".split(",") }}|{{ "  a  b  ".split() }}|{{ "a b c".split(" ", 1) }}|{{ "a b c".rsplit(" ", 1) }}|{{ "abc".startswith("ab") }}|{{ "abc".endswith(("x","c")) }}
{{ "xxabcxx".strip("x") }}|{{ "\n\nab\n".lstrip("\n") }}|{{ "ab\n\n".rstrip() }}|{{ "hello".replace("l", "L") }}|{{ "hello".replace("l", "L", 1) }}|{{ "a{}b{x}".format(1, x=2) }}
{{ "hello".find("l") }}|{{ "hello".count("l") }}|{{ "-".join(["a","b"]) }}|{{ "Hello".upper() }}|{{ "hello world".title() }}|{{ "abc"[1] }}|{{ "abc"[-1] }}|{{ "abcdef"[1:4] }}|{{ "abcdef"[::2] }}|{{ "abcdef"[::-1] }}
{{ [1,2,3,4][1:] }}|{{ [1,2,3,4][:-1] }}|{{ [1,2,3,4][::-1] }}|{{ [1,2,3,4][-2:] }}|{{ [1,2,3,4][10:] }}|{{ [1,2,3][5] }}|{{ (1,2,3)[1:] }}
{{ 1 in [1,2] }}|{{ "a" in "abc" }}|{{ "k" in {"k":1} }}|{{ 3 not in [1] }}|{{ 1 == 1.0 }}|{{ true == 1 }}|{{ "a" < "b" }}|{{ 1 < 2 < 3 }}|{{ 3 > 2 > 2 }}|{{ [1,2] == [1,2] }}
{{ x is defined }}|{{ x is undefined }}|{{ none is none }}|{{ "s" is string }}|{{ 1 is number }}|{{ true is number }}|{{ 1.0 is float }}|{{ 1 is integer }}|{{ {} is mapping }}|{{ [] is sequence }}|{{ "s" is iterable }}|{{ 1 is iterable }}
{{ true is boolean }}|{{ true is true }}|{{ 0 is false }}|{{ 4 is even }}|{{ 3 is odd }}|{{ 9 is divisibleby 3 }}|{{ 9 is divisibleby(4) }}|{{ 1 is equalto 1 }}|{{ 1 is eq 1 }}|{{ 2 is in [1,2] }}|{{ x is not defined }}
{{ 1 if true else 2 }}|{{ 1 if false }}|{{ none or "x" }}|{{ "" and "y" }}|{{ 0 or [] or "z" }}|{{ not none }}|{{ -(3) }}|{{ +3 }}|{{ -3|abs }}|{{ 2.567|round(2) }}|{{ 2.5|round }}|{{ 3.5|round }}|{{ 7|round }}|{{ 2.4|round(0, "ceil") }}
{{ "42"|int }}|{{ "4.7"|int }}|{{ "x"|int }}|{{ "x"|int(5) }}|{{ "3.5"|float }}|{{ 3|float }}|{{ 3.9|int }}|{{ 12|string }}|{{ [1]|string }}|{{ "a b  c"|wordcount }}
{{ {"b":1,"a":2}|dictsort }}|{{ {"b":1,"a":2}|dictsort(by="value") }}|{{ {"b":1,"a":2}|items|list }}|{{ [1,2,3,4,5]|batch(2)|list }}|{{ [1,2,3,4,5]|batch(2, "x")|list }}|{{ [1,2]|sum }}|{{ [3,1]|min }}|{{ [3,1]|max }}
{{ "<a href='x'>&"|escape }}|{{ "<a>"|e }}|{{ "<a>"|safe }}|{{ "<"|safe + "<" }}|{{ "<" + "<"|safe }}|{{ ("<"|safe) ~ "<" }}
{{ "line1\nline2\n\nline4"|indent(2) }}|{{ "a\nb"|indent(2, true) }}|{{ "a\n\nb"|indent(2, blank=true) }}|{{ "a\nb"|indent("--") }}
{{ {"a": [1, 2.5, none, true, "é\"\n<"], "b": {}}|tojson }}|{{ {"a": [1, {"b": []}]}|tojson(indent=2) }}|{{ {"b":1,"a":2}|tojson(sort_keys=true) }}|{{ [1,2]|tojson(separators=(",",":")) }}|{{ "é😀"|tojson(ensure_ascii=true) }}|{{ 1e100|tojson }}
{{ [{"a":1,"b":2},{"a":3}]|map(attribute="a")|list }}|{{ [{"a":1},{"b":2}]|selectattr("a")|list }}|{{ [{"a":1},{"b":2}]|rejectattr("a")|list }}|{{ [{"t":"x"},{"t":"y"}]|selectattr("t","equalto","y")|list }}|{{ [1,2,3,4]|select("even")|list }}|{{ [1,2,3]|reject("odd")|list }}|{{ ["a","b"]|map("upper")|list }}|{{ [{"a":{"b":5}}]|map(attribute="a.b")|list }}|{{ [{"a":1}]|map(attribute="z", default=0)|list }}
{% for x in [1,2,3] %}{{ loop.index }}{{ loop.index0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.previtem }}{{ loop.nextitem }}{{ loop.cycle("a","b") }};{% endfor %}
{% for x in [] %}no{% else %}empty{% endfor %}|{% for x in [1,2,3,4] if x is even %}{{ x }}{{ loop.index }}{{ loop.length }}{% endfor %}|{% for k, v in {"a":1,"b":2}.items() %}{{ k }}={{ v }},{% endfor %}|{% for k in {"a":1,"b":2} %}{{ k }}{% endfor %}|{% for c in "abc" %}{{ c }}.{% endfor %}
{% for x in [1,2,3,4,5] %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 4 %}{% break %}{% endif %}{{ x }}{% endfor %}
{% set ns = namespace(a=1, b=[]) %}{% for x in [1,2] %}{% set ns.a = ns.a + x %}{% set ns.b = ns.b + [x] %}{% endfor %}{{ ns.a }}{{ ns.b }}|{{ ns }}
{% set x = 1 %}{% for i in [1] %}{% set x = 2 %}{{ x }}{% endfor %}{{ x }}|{% if true %}{% set y = 3 %}{% endif %}{{ y }}|{% set a, b = 1, 2 %}{{ a }}{{ b }}|{% set t = (1, 2) %}{{ t }}
{% macro m(a, b="B", c=none) %}[{{ a }}{{ b }}{{ c }}{{ varargs }}{{ kwargs }}]{% endmacro %}{{ m(1) }}{{ m(1, 2, 3) }}{{ m(a=5, c=6) }}{{ m() }}{{ m(1,2,3,4) }}{{ m(1, z=9) }}
{% macro outer() %}<{{ caller() }}>{% endmacro %}{% call outer() %}inner{% endcall %}|{% macro o2(x) %}{{ caller(x * 2) }}{% endmacro %}{% call(v) o2(21) %}v={{ v }}{% endcall %}
{% set blk %}  block {{ 1 }}  {% endset %}[{{ blk }}]|{% set blk2 | trim | upper %}  hi  {% endset %}[{{ blk2 }}]|{% filter upper %}abc{{ "d" }}{% endfilter %}|{% filter trim %}   x   {% endfilter %}
{% generation %}gen{{ 1 }}{% endgeneration %}|{% raw %}{{ not evaluated }}{% endraw %}|{# comment #}after|{% with a = 5 %}{{ a }}{% endwith %}{{ a }}
{{ strftime_now("%Y-%m-%d %H:%M:%S %d %b %Y %B %A %a %j %I %p") }}|{{ range(3)|list }}|{{ range(1, 10, 3)|list }}|{{ dict(a=1, b=2) }}|{{ "%s and %d" % ("x", 5) }}|{{ "%05.1f|%-4s|" % (3.14159, "ab") }}
{{ d.get("a") }}|{{ d.get("z", "dflt") }}|{{ d.get("z") }}|{{ d.keys()|list }}|{{ d.values()|list }}|{{ d["a"] }}|{{ d.a }}|{{ d.missing }}|{{ d["missing"] is defined }}
{{ "x" if d.missing else "y" }}|{{ d.missing|length }}|{{ d.missing|list }}|{{ d.missing|trim }}|{{ d.missing|join(",") }}|{{ d.missing ~ "s" }}|{{ d.missing|lower }}|{{ "a" in d.missing }}
{%- if true %}
  indented
    {%- endif %}
  {% if true %}
    x
  {% endif %}
  {%+ if true %}plus{% endif %}
{{- "  trimmed left" }}
{{ "v" -}}
   ws
{# c1 #}
   {# c2 #}
{%- for i in [1,2] -%}
   {{ i }}
{%- endfor %}

trailing
'''
ERRS = [
 '{{ x + 1 }}', '{{ 1 + "a" }}', '{{ "a" + 1 }}', '{{ none + "a" }}', '{{ x.y }}', '{{ x[0] }}', '{{ x() }}', '{% for a in none %}{% endfor %}',
 '{{ "a" in none }}', '{{ [1,2]|map("upper")|tojson }}', '{{ [1,2]|map("upper")|length }}', '{{ d.missing.z }}', '{{ 1 < "a" }}', '{{ 1 / 0 }}',
 '{{ raise_exception("boom") }}', '{% if %}', '{{ 1 +}}', '{% for %}', '{% endif %}', '{% if x %}', '{{ x | nosuchfilter }}', '{{ x is nosuchtest }}',
 '{{ [].append(1) }}', '{{ d.pop("a") }}', '{% set x.y = 1 %}', '{{ "a" - "b" }}', '{{ -"a" }}', '{{ "%d" % "x" }}', '{{ {}|first }}', '{{ d.missing + 1 }}',
 '{{ "x"|tojson(indent=2)|nothing }}', '{{ 1 is divisibleby 0 }}', '{% macro m() %}{% endmacro %}{{ m.x }}', '{{ d.missing() }}',
 '{{ "a".nosuch() }}', '{{ ns.x }}{% set ns.x = 1 %}', '{% set a, b = [1] %}', '{{ (1,2) + [3] }}', '{{ [1] + (2,) }}', '{{ "abc"["x"] }}',
]
cases=[]
for i,line in enumerate(S.split('\n{')):
    pass
# whole-template case plus per-line cases (so one failure doesn't mask others)
lines = S.strip('\n').split('\n')
for i,l in enumerate(lines):
    cases.append({"name": f"line{i+1}", "template": l, "variables": {"d": {"a": 1, "b": [1,2]}}})
cases.append({"name": "whole", "template": S, "variables": {"d": {"a": 1, "b": [1,2]}}})
for i,e in enumerate(ERRS):
    cases.append({"name": f"err{i}: {e}", "template": e, "variables": {"d": {"a": 1}}})
json.dump(cases, open('snip_cases.json','w'))

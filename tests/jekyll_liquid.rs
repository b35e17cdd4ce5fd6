//! Jekyll's Liquid, tag by tag and filter by filter: one page holds each case in its own
//! `<li>`, Debian's `jekyll` and Galley build the same site, and every case must print what
//! Jekyll prints. The expected values come from running Jekyll in the test, never from here.

use std::path::Path;

use galley_site_builder::{build, BuildOptions};

/// (id, Liquid). Known differences are left out and listed in the README.
const CASES: &[(&str, &str)] = &[
    (r#"relative_url"#, r#"{{ "/a/b.html" | relative_url }}"#),
    (r#"absolute_url"#, r#"{{ "a/b.html" | absolute_url }}"#),
    (
        r#"xmlschema"#,
        r#"{{ "2024-03-05 14:07:09 +0100" | date_to_xmlschema }}"#,
    ),
    (
        r#"rfc822"#,
        r#"{{ "2024-03-05 14:07:09 +0100" | date_to_rfc822 }}"#,
    ),
    (r#"date_string"#, r#"{{ "2024-03-05" | date_to_string }}"#),
    (
        r#"date_string_ord"#,
        r#"{{ "2024-03-01" | date_to_string: "ordinal", "US" }}"#,
    ),
    (
        r#"date_long"#,
        r#"{{ "2024-03-22" | date_to_long_string }}"#,
    ),
    (
        r#"date_long_ord"#,
        r#"{{ "2024-03-22" | date_to_long_string: "ordinal" }}"#,
    ),
    (
        r#"date_fmt"#,
        r#"{{ "2024-03-05 14:07:09" | date: "%b %-d, %Y %H:%M %a %j %y %e" }}"#,
    ),
    (
        r#"where"#,
        r#"{{ site.data.people | where: "role", "dev" | map: "name" | join: "," }}"#,
    ),
    (
        r#"where_exp"#,
        r#"{{ site.data.people | where_exp: "p", "p.age > 26" | map: "name" | join: "," }}"#,
    ),
    (
        r#"find"#,
        r#"{{ site.data.people | find: "role", "ops" | map: "name" }}"#,
    ),
    (
        r#"find_exp"#,
        r#"{% assign f = site.data.people | find_exp: "p", "p.name contains 'i'" %}{{ f.name }}"#,
    ),
    (
        r#"group_by"#,
        r#"{% assign g = site.data.people | group_by: "role" %}{% for x in g %}{{ x.name }}={{ x.size }}:{{ x.items | map: "name" | join: "+" }};{% endfor %}"#,
    ),
    (
        r#"group_by_exp"#,
        r#"{% assign g = site.data.people | group_by_exp: "p", "p.name | slice: 0" %}{% for x in g %}{{ x.name }}={{ x.size }};{% endfor %}"#,
    ),
    (
        r#"sort"#,
        r#"{{ site.data.people | sort: "age" | map: "name" | join: "," }}"#,
    ),
    (
        r#"sort_last"#,
        r#"{{ site.data.people | sort: "age", "last" | map: "name" | join: "," }}"#,
    ),
    (
        r#"sort_plain"#,
        r#"{{ "c,a,B" | split: "," | sort | join: "," }}"#,
    ),
    (r#"jsonify"#, r#"{{ site.data.people[0] | jsonify }}"#),
    (r#"jsonify_str"#, r#"{{ 'a "q" <b>' | jsonify }}"#),
    (r#"xml_escape"#, r#"{{ 'a <b> & "d"' | xml_escape }}"#),
    (r#"cgi_escape"#, r#"{{ "a b&c=d/é?" | cgi_escape }}"#),
    (r#"uri_escape"#, r#"{{ "a b&c=d/é?[x]" | uri_escape }}"#),
    (
        r#"slugify"#,
        r#"{{ "The _Hello_ World! Ça va" | slugify }}"#,
    ),
    (
        r#"slugify_raw"#,
        r#"{{ "The _Hello_ World! Ça va" | slugify: "raw" }}"#,
    ),
    (
        r#"slugify_pretty"#,
        r#"{{ "The _Hello_ World! Ça va" | slugify: "pretty" }}"#,
    ),
    (
        r#"slugify_ascii"#,
        r#"{{ "The _Hello_ World! Ça va" | slugify: "ascii" }}"#,
    ),
    (
        r#"slugify_latin"#,
        r#"{{ "The _Hello_ World! Ça va" | slugify: "latin" }}"#,
    ),
    (
        r#"scssify"#,
        r#"{% capture s %}$c: red; a { b { color: $c; } }{% endcapture %}{{ s | scssify }}"#,
    ),
    (
        r#"sassify"#,
        "{% capture t %}a\n  color: blue{% endcapture %}{{ t | sassify }}",
    ),
    (r#"markdownify"#, r#"{{ "Hi *there* `x`" | markdownify }}"#),
    (
        r#"smartify"#,
        r#"{% capture s %}It's "quoted" -- and --- ok...{% endcapture %}{{ s | smartify }}"#,
    ),
    (
        r#"smartify_html"#,
        r#"{% capture s %}A & B <i>x</i> &amp; &copy; &nbsp; &#8217; &bogus; <3, 2 > 1, << a >> <<b>>{% endcapture %}{{ s | smartify }}"#,
    ),
    (
        r#"words"#,
        r#"{{ "one two  three\nfour" | number_of_words }}"#,
    ),
    (
        r#"sentence"#,
        r#"{{ "a,b,c" | split: "," | array_to_sentence_string }}"#,
    ),
    (
        r#"sentence_or"#,
        r#"{{ "a,b" | split: "," | array_to_sentence_string: "or" }}"#,
    ),
    (
        r#"normalize"#,
        r#"{{ "  a \n b   c " | normalize_whitespace }}"#,
    ),
    (r#"inspect"#, r#"{{ site.data.people[0] | inspect }}"#),
    (r#"inspect_str"#, r#"{{ "x" | inspect }}"#),
    (
        r#"push"#,
        r#"{{ "a,b" | split: "," | push: "c" | join: "," }}"#,
    ),
    (r#"pop"#, r#"{{ "a,b" | split: "," | pop | join: "," }}"#),
    (
        r#"shift"#,
        r#"{{ "a,b" | split: "," | shift | join: "," }}"#,
    ),
    (
        r#"unshift"#,
        r#"{{ "a,b" | split: "," | unshift: "z" | join: "," }}"#,
    ),
    (
        r#"truncate"#,
        r#"{{ "Ground control to Major Tom." | truncate: 20 }}"#,
    ),
    (
        r#"truncatewords"#,
        r#"{{ "Ground control to Major Tom." | truncatewords: 3 }}"#,
    ),
    (
        r#"math"#,
        r#"{{ 10 | plus: 2.5 }} {{ 7 | divided_by: 2 }} {{ -7 | divided_by: 2 }} {{ 7 | modulo: -3 }} {{ "3" | times: "4" }}"#,
    ),
    (
        r#"round"#,
        r#"{{ 4.5612 | round: 2 }} {{ 4.5 | round }} {{ 1.2 | ceil }} {{ 1.8 | floor }}"#,
    ),
    (
        r#"default"#,
        r#"{{ nil | default: "d" }} {{ false | default: "d" }} {{ "" | default: "d" }}"#,
    ),
    (
        r#"escape"#,
        r#"{{ "<a href='x'>" | escape }} {{ "&lt; &" | escape_once }}"#,
    ),
    (
        r#"strip_html"#,
        r#"{{ "<p>Hi <b>you</b></p>" | strip_html }}"#,
    ),
    (r#"newline_to_br"#, r#"{{ "a\nb" | newline_to_br }}"#),
    (
        r#"size"#,
        r#"{{ site.data.people | size }} {{ "abc" | size }} {{ site.data.people.size }}"#,
    ),
    (
        r#"first_last"#,
        r#"{{ site.data.people.first.name }} {{ site.data.people.last.name }}"#,
    ),
    (r#"url_encode"#, r#"{{ "a b&c" | url_encode }}"#),
    (r#"capitalize"#, r#"{{ "hello WORLD" | capitalize }}"#),
    (
        r#"compact"#,
        r#"{{ site.data.people | map: "age" | compact | join: "," }}"#,
    ),
    (
        r#"uniq"#,
        r#"{{ "a,b,a" | split: "," | uniq | join: "," }}"#,
    ),
    (
        r#"replace"#,
        r#"{{ "aXbXc" | replace: "X", "-" }} {{ "aXbXc" | replace_first: "X", "-" }}"#,
    ),
    (
        r#"slice"#,
        r#"{{ "hello" | slice: 1, 3 }} {{ "hello" | slice: -2 }}"#,
    ),
    (
        r#"for_limit"#,
        r#"{% for i in (1..10) limit: 3 offset: 2 %}{{ i }}{% endfor %}"#,
    ),
    (
        r#"for_reversed"#,
        r#"{% for i in (1..4) reversed %}{{ i }}{% endfor %}"#,
    ),
    (
        r#"forloop"#,
        r#"{% for p in site.data.people %}{{ forloop.index }}/{{ forloop.rindex0 }}{% if forloop.first %}F{% endif %}{% if forloop.last %}L{% endif %}{{ forloop.length }};{% endfor %}"#,
    ),
    (
        r#"for_else"#,
        r#"{% for x in site.nothing %}x{% else %}empty{% endfor %}"#,
    ),
    (
        r#"cycle"#,
        r#"{% for i in (1..4) %}{% cycle "a", "b", "c" %}{% endfor %}"#,
    ),
    (
        r#"increment"#,
        r#"{% increment c %}{% increment c %}{% decrement d %}{% decrement d %}"#,
    ),
    (
        r#"capture"#,
        r#"{% capture x %}A{{ 1 | plus: 1 }}B{% endcapture %}{{ x }}"#,
    ),
    (
        r#"case"#,
        r#"{% assign v = "two" %}{% case v %}{% when "one" %}1{% when "two", "three" %}2{% else %}e{% endcase %}"#,
    ),
    (
        r#"case_nil"#,
        r#"{% case site.nothing %}{% when false %}F{% when nil %}N{% else %}E{% endcase %}{% case false %}{% when nil %}X{% else %}e{% endcase %}"#,
    ),
    (
        r#"case_every_match"#,
        r#"{% assign v = 1 %}{% case v %}ignored{% when 1 %}a{% when 2 or 1 %}b{% when 3 %}c{% else %}d{% endcase %}"#,
    ),
    (
        r#"unless"#,
        r#"{% unless false %}U{% elsif true %}X{% endunless %}{% unless true %}U{% else %}E{% endunless %}"#,
    ),
    (
        r#"if_ops"#,
        r#"{% if 1 < 2 and 2 > 1 %}a{% endif %}{% if "abc" contains "b" %}b{% endif %}{% if site.data.people.size >= 3 %}c{% endif %}{% if nil == false %}X{% else %}d{% endif %}{% if nil != false %}e{% endif %}"#,
    ),
    (
        r#"if_andor"#,
        r#"{% if false and false or true %}T{% else %}F{% endif %}"#,
    ),
    (
        r#"empty"#,
        r#"{% if "" == empty %}a{% endif %}{% if site.nothing == empty %}X{% else %}b{% endif %}{% assign arr = "" | split: "," %}{% if arr == empty %}c{% endif %}"#,
    ),
    (r#"raw"#, r#"{% raw %}{{ not }}{% endraw %}"#),
    (r#"ws_control"#, r#"[ {%- if true -%} x {%- endif -%} ]"#),
    (r#"include"#, r#"{% include p.html x="1" y=page.title %}"#),
    (
        r#"include_cached"#,
        r#"{% include_cached p.html x="c" %}{% include_cached p.html x="c" %}"#,
    ),
    (
        r#"avatar"#,
        r#"{% avatar octocat %} {% avatar user=page.title size=50 %} {% avatar user=nobody %}"#,
    ),
    (
        r#"include_var"#,
        r#"{% assign n = "p.html" %}{% include {{ n }} x=2 %}"#,
    ),
    (r#"post_url"#, r#"{% post_url 2024-03-05-first %}"#),
    (r#"link"#, r#"{% link _posts/2024-04-01-second.md %}"#),
    (
        r#"highlight"#,
        r#"{% highlight ruby %}def x; 1; end{% endhighlight %}"#,
    ),
    (
        r#"site_posts"#,
        r#"{% for p in site.posts %}{{ p.title }}|{{ p.url }}|{{ p.date | date: "%F" }}|{{ p.id }};{% endfor %}"#,
    ),
    (
        r#"post_excerpt"#,
        r#"{{ site.posts.last.excerpt | strip }}"#,
    ),
    (r#"post_tags"#, r#"{{ site.posts.last.tags | join: "," }}"#),
    (
        r#"site_tags"#,
        r#"{% for t in site.tags %}{{ t[0] }}:{{ t[1].size }};{% endfor %}"#,
    ),
    (
        r#"site_tags_lookup"#,
        r#"{{ site.tags["a"].size }}|{{ site.tags.b.first.title }}|{{ site.tags.size }}|{{ site.categories.size }}|{{ site.tags.missing.size }}"#,
    ),
    (
        r#"site_tags_loop_args"#,
        r#"{% for t in site.tags reversed %}{{ t[0] }}{% endfor %}|{% for t in site.tags limit: 1 %}{{ t | first }}={{ t | last | size }}{% endfor %}"#,
    ),
    (
        r#"site_tags_content"#,
        r#"{% for t in site.tags %}{{ t[0] }}:{% for p in t[1] %}{{ p.content | strip_html | strip }}{% endfor %};{% endfor %}"#,
    ),
    (
        r#"hash_loop"#,
        r#"{% for d in site.data %}{{ d[0] }}={{ d[1].size }};{% endfor %}"#,
    ),
    (
        r#"page_vars"#,
        r#"{{ page.url }}|{{ page.path }}|{{ page.title }}|{{ page.dir }}|{{ page.name }}"#,
    ),
    (
        r#"static_files"#,
        r#"{% for f in site.static_files %}{{ f.path }}|{{ f.name }}|{{ f.basename }}|{{ f.extname }};{% endfor %}"#,
    ),
    (
        r#"html_pages"#,
        r#"{% for p in site.html_pages %}{{ p.url }}|{{ p.title }}|{{ p.name }};{% endfor %}"#,
    ),
    (r#"jekyll_env"#, r#"{{ jekyll.environment }}"#),
    (
        r#"highlight_linenos"#,
        r#"{% highlight python linenos %}
x = 1
y = 2
{% endhighlight %}"#,
    ),
];

const PEOPLE: &str = "- name: Ann\n  role: dev\n  age: 31\n- name: Bob\n  role: ops\n- name: Cid\n  role: dev\n  age: 25\n";

fn write(site: &Path, rel: &str, text: &str) {
    galley_tests::write_files(site, &[(rel, text)]);
}

/// The case site: config, data, two posts, an include, a layout and the page of cases.
fn case_site(site: &Path) {
    write(
        site,
        "_config.yml",
        "title: Filters\nurl: https://example.com\nbaseurl: /blog\ntimezone: UTC\nplugins: [jekyll-include-cache, jekyll-avatar]\n",
    );
    write(site, "_data/people.yml", PEOPLE);
    write(
        site,
        "_posts/2024-03-05-first.md",
        "---\ntitle: \"First post\"\ntags: [a, b]\n---\nHello *world* from the first post.\n",
    );
    write(
        site,
        "_posts/2024-04-01-second.md",
        "---\ntitle: Second\ntags: [c, a]\n---\nSecond body.\n",
    );
    write(
        site,
        "_includes/p.html",
        "inc[{{ include.x }}|{{ include.y | default: \"none\" }}]",
    );
    write(site, "_layouts/default.html", "---\n---\n{{ content }}");
    write(site, "assets/logo.png", "not really a png");
    write(site, "about.md", "---\ntitle: About\n---\nAbout.\n");
    let items: String = CASES
        .iter()
        .map(|(id, liquid)| format!("<li id=\"{id}\">{liquid}</li>\n"))
        .collect();
    write(
        site,
        "index.html",
        &format!("---\nlayout: default\ntitle: Cases\n---\n<ul>\n{items}</ul>\n"),
    );
}

/// Each case's output, by id.
fn items(html: &str) -> std::collections::BTreeMap<String, String> {
    let re = regex::Regex::new(r#"(?s)<li id="([^"]+)">(.*?)</li>\n"#).expect("regex");
    re.captures_iter(html)
        .map(|c| (c[1].to_string(), c[2].trim().to_string()))
        .collect()
}

#[test]
fn every_tag_and_filter_prints_what_jekyll_prints() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let site = tmp.path().join("site");
    case_site(&site);
    let (jekyll_out, galley_out) = (tmp.path().join("jekyll-out"), tmp.path().join("galley-out"));
    galley_tests::jekyll::build(&site, tmp.path(), &jekyll_out);
    build(&site, &galley_out, &BuildOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let read = |dir: &Path| std::fs::read_to_string(dir.join("index.html")).expect("index");
    let (expected, got) = (items(&read(&jekyll_out)), items(&read(&galley_out)));
    assert_eq!(expected.len(), CASES.len(), "Jekyll printed every case");
    let mut problems = Vec::new();
    for (id, _) in CASES {
        let (want, have) = (
            &expected[*id],
            got.get(*id).map(String::as_str).unwrap_or("<missing>"),
        );
        if want != have {
            problems.push(format!("{id}:\n  Jekyll: {want}\n  Galley: {have}"));
        }
    }
    assert!(
        problems.is_empty(),
        "{} of {} cases differ:\n{}",
        problems.len(),
        CASES.len(),
        problems.join("\n")
    );
}

//! Highlighted code with Rouge's token classes (`k`, `nf`, `s2`, `c1`, … as Pygments names
//! them), for Jekyll sites: Jekyll themes ship a stylesheet for those classes, so code in a
//! Jekyll site built by Galley is coloured by the theme as it was under Jekyll. Tokens come
//! from syntect's grammars; each token takes the class of the most telling scope on its
//! stack. Rouge's own lexers split some tokens differently, so the colours match closely,
//! not exactly.

use std::cell::RefCell;
use std::collections::HashMap;

use syntect::easy::ScopeRangeIterator;
use syntect::parsing::{ParseState, Scope, ScopeStack};
use syntect::util::LinesWithEndings;

use crate::highlight::{escape, syntax_for};

/// Scope prefixes and their Rouge classes, most telling first: a token inside a string
/// is a string even where its own scope says punctuation.
const CLASSES: &[(&str, &str)] = &[
    ("comment.line", "c1"),
    ("comment.block", "cm"),
    ("comment", "c"),
    ("string.regexp", "sr"),
    ("constant.character.escape", "se"),
    ("string.quoted.double", "s2"),
    ("string.quoted.single", "s1"),
    ("string", "s"),
    ("constant.numeric.float", "mf"),
    ("constant.numeric.integer.hexadecimal", "mh"),
    ("constant.numeric.integer", "mi"),
    ("constant.numeric", "m"),
    ("keyword.operator.word", "ow"),
    ("keyword.operator", "o"),
    ("keyword.control.import", "kn"),
    ("keyword.other.import", "kn"),
    ("keyword", "k"),
    ("storage.type", "kt"),
    ("storage.modifier", "kd"),
    ("storage", "k"),
    ("constant.language", "kc"),
    ("entity.name.function", "nf"),
    ("entity.name.tag", "nt"),
    ("entity.other.attribute-name", "na"),
    ("entity.name.class", "nc"),
    ("entity.name.type", "nc"),
    ("entity.name.struct", "nc"),
    ("entity.name.enum", "nc"),
    ("entity.other.inherited-class", "nc"),
    ("entity.name.namespace", "nn"),
    ("entity.name.constant", "no"),
    ("entity.name", "n"),
    ("support.function", "nb"),
    ("support.type", "nb"),
    ("support.class", "nb"),
    ("support.constant", "no"),
    ("variable.language", "bp"),
    ("variable.parameter", "nv"),
    ("variable.function", "nf"),
    ("variable", "n"),
    ("constant.other.symbol", "ss"),
    ("constant", "no"),
    ("meta.generic-name", "n"),
    ("markup.heading", "gh"),
    ("markup.bold", "gs"),
    ("markup.italic", "ge"),
    ("markup.inserted", "gi"),
    ("markup.deleted", "gd"),
    ("punctuation", "p"),
    ("invalid", "err"),
];

/// The most telling entry of `CLASSES` a scope matches (its rank and class).
fn rank_of(scope: Scope) -> Option<(usize, &'static str)> {
    thread_local! {
        // Scopes repeat across every token of every block: each is named once per thread.
        static RANKS: RefCell<HashMap<Scope, Option<(usize, &'static str)>>> =
            RefCell::new(HashMap::new());
    }
    RANKS.with(|ranks| {
        *ranks.borrow_mut().entry(scope).or_insert_with(|| {
            let name = scope.build_string();
            CLASSES
                .iter()
                .enumerate()
                .find_map(|(rank, (prefix, class))| {
                    let matches = name == *prefix
                        || (name.starts_with(prefix)
                            && name.as_bytes().get(prefix.len()) == Some(&b'.'));
                    matches.then_some((rank, *class))
                })
        })
    })
}

/// The Rouge class of a token with these scopes: the most telling one on the stack.
fn class_of(stack: &ScopeStack) -> Option<&'static str> {
    stack
        .as_slice()
        .iter()
        .filter_map(|s| rank_of(*s))
        .min_by_key(|(rank, _)| *rank)
        .map(|(_, class)| class)
}

/// `code` as HTML with Rouge's classes; escaped as it is when the language is unknown or
/// its grammar fails.
pub fn highlighted(code: &str, lang: &str) -> String {
    let Some((syntax, set)) = syntax_for(lang) else {
        return escape(code);
    };
    let mut state = ParseState::new(syntax);
    let mut stack = ScopeStack::new();
    // Runs of text with one class; neighbours with the same class are one token.
    let mut runs: Vec<(Option<&'static str>, String)> = Vec::new();
    for line in LinesWithEndings::from(code) {
        let Ok(ops) = state.parse_line(line, set) else {
            return escape(code);
        };
        for (range, op) in ScopeRangeIterator::new(&ops, line) {
            if stack.apply(op).is_err() {
                return escape(code);
            }
            let text = &line[range];
            if text.is_empty() {
                continue;
            }
            let class = class_of(&stack);
            match runs.last_mut() {
                Some((c, t)) if *c == class => t.push_str(text),
                _ => runs.push((class, text.to_string())),
            }
        }
    }
    let mut out = String::with_capacity(code.len() * 2);
    for (class, text) in runs {
        // A grammar that does not tell integers from floats: Rouge does.
        let class = match class {
            Some("m") if text.contains('.') => Some("mf"),
            Some("m") => Some("mi"),
            other => other,
        };
        match class {
            Some(class) if !text.trim().is_empty() => {
                // Whitespace at either end stays outside the token, as Rouge leaves it.
                let start = text.len() - text.trim_start().len();
                let end = text.trim_end().len();
                out.push_str(&escape(&text[..start]));
                out.push_str("<span class=\"");
                out.push_str(class);
                out.push_str("\">");
                out.push_str(&escape(&text[start..end]));
                out.push_str("</span>");
                out.push_str(&escape(&text[end..]));
            }
            _ => out.push_str(&escape(&text)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_take_rouges_classes() {
        let html = highlighted("def x; 1; end # note\n", "ruby");
        assert!(html.contains("<span class=\"k\">def</span>"), "{html}");
        assert!(html.contains("<span class=\"nf\">x</span>"), "{html}");
        assert!(html.contains("<span class=\"mi\">1</span>"), "{html}");
        assert!(html.contains("<span class=\"c1\"># note</span>"), "{html}");
        let html = highlighted("s = \"a<b\"\n", "python");
        assert!(
            html.contains("<span class=\"s2\">&quot;a&lt;b&quot;</span>"),
            "{html}"
        );
        assert_eq!(highlighted("<x>", "no-such-language"), "&lt;x&gt;");
    }
}

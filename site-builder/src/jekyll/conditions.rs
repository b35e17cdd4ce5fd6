//! `{% if %}`, `{% elsif %}`, `{% else %}` and `{% unless %}` with the comparisons of Ruby's
//! Liquid, which Jekyll runs. The `liquid` crate differs where themes notice:
//! - it counts `nil == false` as true, so `{% if page.comments != false %}` hides comments
//!   on every page that does not set `comments` (Ruby: nil is not false, they show);
//! - it binds `and` tighter than `or`, where Ruby's Liquid reads a chain right to left
//!   (`a and b or c` is `a and (b or c)`).
//!
//! Everything else (values, filters, `contains`, ordering) follows Liquid as usual.

use std::fmt;
use std::io::Write;

use liquid_core::error::ResultLiquidExt;
use liquid_core::model::{State, ValueView, ValueViewCmp};
use liquid_core::parser::{BlockElement, TagToken};
use liquid_core::{
    BlockReflection, Expression, Language, ParseBlock, Renderable, Result, Runtime, TagBlock,
    TagTokenIter, Template,
};

use super::json::from_liquid;

/// `if` or `unless`.
#[derive(Clone, Copy, Debug)]
pub struct Conditional {
    unless: bool,
}

impl Conditional {
    pub const IF: Conditional = Conditional { unless: false };
    pub const UNLESS: Conditional = Conditional { unless: true };
}

impl BlockReflection for Conditional {
    fn start_tag(&self) -> &str {
        if self.unless {
            "unless"
        } else {
            "if"
        }
    }
    fn end_tag(&self) -> &str {
        if self.unless {
            "endunless"
        } else {
            "endif"
        }
    }
    fn description(&self) -> &str {
        "a condition with Ruby Liquid's comparisons"
    }
}

impl ParseBlock for Conditional {
    fn parse(
        &self,
        arguments: TagTokenIter<'_>,
        mut block: TagBlock<'_, '_>,
        language: &Language,
    ) -> Result<Box<dyn Renderable>> {
        let branch = parse_branch(arguments, self.unless, &mut block, language)?;
        block.assert_empty();
        Ok(Box::new(branch))
    }
    fn reflection(&self) -> &dyn BlockReflection {
        self
    }
}

/// One test and what renders when it passes; `otherwise` holds the `elsif`/`else` chain.
#[derive(Debug)]
struct Branch {
    condition: Condition,
    /// `unless`: the body renders when the condition fails.
    negate: bool,
    body: Template,
    otherwise: Option<Template>,
}

fn parse_branch(
    arguments: TagTokenIter<'_>,
    negate: bool,
    block: &mut TagBlock<'_, '_>,
    language: &Language,
) -> Result<Branch> {
    let condition = parse_condition(arguments)?;
    let mut body = Vec::new();
    let mut otherwise = None;
    while let Some(element) = block.next()? {
        match element {
            BlockElement::Tag(tag) if tag.name() == "else" => {
                otherwise = Some(Template::new(block.parse_all(language)?));
                break;
            }
            BlockElement::Tag(tag) if tag.name() == "elsif" => {
                let next = parse_branch(tag.into_tokens(), false, block, language)?;
                otherwise = Some(Template::new(vec![Box::new(next) as Box<dyn Renderable>]));
                break;
            }
            element => body.push(element.parse(block, language)?),
        }
    }
    Ok(Branch {
        condition,
        negate,
        body: Template::new(body),
        otherwise,
    })
}

impl Renderable for Branch {
    fn render_to(&self, writer: &mut dyn Write, runtime: &dyn Runtime) -> Result<()> {
        let trace = || {
            let tag = if self.negate { "unless" } else { "if" };
            format!("{{% {tag} {} %}}", self.condition)
        };
        let passed = self.condition.test(runtime).trace_with(|| trace().into())? != self.negate;
        if passed {
            self.body
                .render_to(writer, runtime)
                .trace_with(|| trace().into())
        } else if let Some(otherwise) = &self.otherwise {
            otherwise
                .render_to(writer, runtime)
                .trace_with(|| trace().into())
        } else {
            Ok(())
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Operator {
    Equal,
    NotEqual,
    Less,
    Greater,
    LessOrEqual,
    GreaterOrEqual,
    Contains,
}

impl Operator {
    fn of(token: &str) -> Option<Operator> {
        Some(match token {
            "==" => Operator::Equal,
            "!=" | "<>" => Operator::NotEqual,
            "<" => Operator::Less,
            ">" => Operator::Greater,
            "<=" => Operator::LessOrEqual,
            ">=" => Operator::GreaterOrEqual,
            "contains" => Operator::Contains,
            _ => return None,
        })
    }

    fn text(self) -> &'static str {
        match self {
            Operator::Equal => "==",
            Operator::NotEqual => "!=",
            Operator::Less => "<",
            Operator::Greater => ">",
            Operator::LessOrEqual => "<=",
            Operator::GreaterOrEqual => ">=",
            Operator::Contains => "contains",
        }
    }
}

#[derive(Debug)]
enum Condition {
    /// A value alone: true unless nil or false.
    Truthy(Expression),
    Compare(Expression, Operator, Expression),
    And(Box<Condition>, Box<Condition>),
    Or(Box<Condition>, Box<Condition>),
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Condition::Truthy(e) => write!(f, "{e}"),
            Condition::Compare(a, op, b) => write!(f, "{a} {} {b}", op.text()),
            Condition::And(a, b) => write!(f, "{a} and {b}"),
            Condition::Or(a, b) => write!(f, "{a} or {b}"),
        }
    }
}

/// `a op b and c or d…`: the tests in order, then grouped from the right as Ruby does.
fn parse_condition(mut arguments: TagTokenIter<'_>) -> Result<Condition> {
    let mut tests = Vec::new();
    let mut joins = Vec::new();
    loop {
        let left = arguments
            .expect_next("a value to test")?
            .expect_value()
            .into_result()?;
        let Some(token) = arguments.next() else {
            tests.push(Condition::Truthy(left));
            break;
        };
        let joiner = match Operator::of(token.as_str()) {
            Some(op) => {
                let right = arguments
                    .expect_next("a value after the comparison")?
                    .expect_value()
                    .into_result()?;
                tests.push(Condition::Compare(left, op, right));
                match arguments.next() {
                    Some(t) => t,
                    None => break,
                }
            }
            None => {
                tests.push(Condition::Truthy(left));
                token
            }
        };
        joins.push(join(joiner)?);
    }
    let mut condition = tests
        .pop()
        .ok_or_else(|| liquid_core::Error::with_msg("a condition needs a value to test"))?;
    while let (Some(test), Some(and)) = (tests.pop(), joins.pop()) {
        condition = if and {
            Condition::And(Box::new(test), Box::new(condition))
        } else {
            Condition::Or(Box::new(test), Box::new(condition))
        };
    }
    Ok(condition)
}

/// `and` (true) or `or` (false).
fn join(token: TagToken<'_>) -> Result<bool> {
    match token.as_str() {
        "and" => Ok(true),
        "or" => Ok(false),
        _ => token
            .raise_custom_error("expected `and`, `or` or the end of the condition")
            .into_err(),
    }
}

impl Condition {
    fn test(&self, runtime: &dyn Runtime) -> Result<bool> {
        Ok(match self {
            Condition::Truthy(e) => truthy(e.evaluate(runtime)?.as_view()),
            Condition::And(a, b) => a.test(runtime)? && b.test(runtime)?,
            Condition::Or(a, b) => a.test(runtime)? || b.test(runtime)?,
            Condition::Compare(a, op, b) => {
                let (a, b) = (a.evaluate(runtime)?, b.evaluate(runtime)?);
                compare(a.as_view(), *op, b.as_view())
            }
        })
    }
}

/// Ruby's truth: everything but nil and false.
fn truthy(v: &dyn ValueView) -> bool {
    !v.is_nil() && v.query_state(State::Truthy)
}

fn compare(a: &dyn ValueView, op: Operator, b: &dyn ValueView) -> bool {
    match op {
        Operator::Equal => equal(a, b),
        Operator::NotEqual => !equal(a, b),
        Operator::Contains => contains(a, b),
        ordering => {
            // Ruby's Liquid cannot order nil (or a value against nil): the test fails.
            if a.is_nil() || b.is_nil() {
                return false;
            }
            let (x, y) = (ValueViewCmp::new(a), ValueViewCmp::new(b));
            match ordering {
                Operator::Less => x < y,
                Operator::Greater => x > y,
                Operator::LessOrEqual => x <= y,
                _ => x >= y,
            }
        }
    }
}

/// Ruby's `==` as Liquid uses it: nil equals only nil; `empty` and `blank` ask the other
/// side; scalars compare as Liquid compares them; lists and hashes by their contents.
fn equal(a: &dyn ValueView, b: &dyn ValueView) -> bool {
    if a.is_nil() || b.is_nil() {
        return a.is_nil() && b.is_nil();
    }
    if let Some(state) = a.as_state() {
        return b.query_state(state);
    }
    if let Some(state) = b.as_state() {
        return a.query_state(state);
    }
    match (a.as_scalar(), b.as_scalar()) {
        (Some(x), Some(y)) => x == y,
        (None, None) => from_liquid(a) == from_liquid(b),
        _ => false,
    }
}

/// `"abc" contains "b"`, `list contains item`, `hash contains key`.
fn contains(a: &dyn ValueView, b: &dyn ValueView) -> bool {
    if let Some(list) = a.as_array() {
        return list.values().any(|item| equal(item, b));
    }
    if let Some(hash) = a.as_object() {
        return !a.is_nil() && hash.contains_key(b.to_kstr().as_str());
    }
    match (a.as_scalar(), b.is_nil()) {
        (Some(s), false) => s.to_kstr().contains(b.to_kstr().as_str()),
        _ => false,
    }
}

/// `{% case x %}{% when a, b or c %}…{% else %}…{% endcase %}` with the same equality as
/// `if` (the `liquid` crate's `case` counts nil as equal to false).
#[derive(Clone, Copy, Debug)]
pub struct Case;

impl BlockReflection for Case {
    fn start_tag(&self) -> &str {
        "case"
    }
    fn end_tag(&self) -> &str {
        "endcase"
    }
    fn description(&self) -> &str {
        "a choice by value with Ruby Liquid's equality"
    }
}

/// One `when` and its body.
#[derive(Debug)]
struct When {
    values: Vec<Expression>,
    body: Template,
}

#[derive(Debug)]
struct Choice {
    subject: Expression,
    whens: Vec<When>,
    otherwise: Option<Template>,
}

impl ParseBlock for Case {
    fn parse(
        &self,
        mut arguments: TagTokenIter<'_>,
        mut block: TagBlock<'_, '_>,
        language: &Language,
    ) -> Result<Box<dyn Renderable>> {
        let subject = arguments
            .expect_next("`case` needs a value")?
            .expect_value()
            .into_result()?;
        arguments.expect_nothing()?;
        let mut whens: Vec<When> = Vec::new();
        let mut otherwise: Option<Vec<Box<dyn Renderable>>> = None;
        // Text before the first `when` is not output, as in Ruby's Liquid.
        let mut current: Option<Vec<Box<dyn Renderable>>> = None;
        while let Some(element) = block.next()? {
            match element {
                BlockElement::Tag(tag) if tag.name() == "when" => {
                    if let (Some(body), Some(last)) = (current.take(), whens.last_mut()) {
                        last.body = Template::new(body);
                    }
                    whens.push(When {
                        values: when_values(tag.into_tokens())?,
                        body: Template::new(Vec::new()),
                    });
                    current = Some(Vec::new());
                }
                BlockElement::Tag(tag) if tag.name() == "else" => {
                    if let (Some(body), Some(last)) = (current.take(), whens.last_mut()) {
                        last.body = Template::new(body);
                    }
                    otherwise = Some(block.parse_all(language)?);
                    break;
                }
                element => {
                    let parsed = element.parse(&mut block, language)?;
                    if let Some(body) = current.as_mut() {
                        body.push(parsed);
                    }
                }
            }
        }
        if let (Some(body), Some(last)) = (current.take(), whens.last_mut()) {
            last.body = Template::new(body);
        }
        block.assert_empty();
        Ok(Box::new(Choice {
            subject,
            whens,
            otherwise: otherwise.map(Template::new),
        }))
    }
    fn reflection(&self) -> &dyn BlockReflection {
        self
    }
}

/// `a, b or c`.
fn when_values(mut tokens: TagTokenIter<'_>) -> Result<Vec<Expression>> {
    let mut values = vec![tokens
        .expect_next("`when` needs a value")?
        .expect_value()
        .into_result()?];
    while let Some(token) = tokens.next() {
        if token.as_str() != "," && token.as_str() != "or" {
            return token
                .raise_custom_error("expected `,` or `or` between `when` values")
                .into_err();
        }
        values.push(
            tokens
                .expect_next("a value after `,` or `or`")?
                .expect_value()
                .into_result()?,
        );
    }
    Ok(values)
}

impl Renderable for Choice {
    fn render_to(&self, writer: &mut dyn Write, runtime: &dyn Runtime) -> Result<()> {
        let subject = self.subject.evaluate(runtime)?;
        let mut matched = false;
        // Ruby's Liquid renders every `when` that matches, in order.
        for when in &self.whens {
            let mut hit = false;
            for value in &when.values {
                if equal(subject.as_view(), value.evaluate(runtime)?.as_view()) {
                    hit = true;
                    break;
                }
            }
            if hit {
                matched = true;
                when.body.render_to(writer, runtime)?;
            }
        }
        match (&self.otherwise, matched) {
            (Some(otherwise), false) => otherwise.render_to(writer, runtime),
            _ => Ok(()),
        }
    }
}

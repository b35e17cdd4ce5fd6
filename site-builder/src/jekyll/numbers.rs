//! Liquid's arithmetic filters with Ruby's number rules, as Jekyll runs them: a string that
//! is not a number counts as its leading integer (`"<" | times: 1` is 0, not an error),
//! nil is 0, integers stay integers, and integer division and modulo round toward minus
//! infinity. The `liquid` crate rejects such input, and themes rely on it.

use liquid_core::model::{Value as LValue, ValueView};
use liquid_core::{Error, Result};

use super::filters::{native, Jekyll};

/// A number as Ruby's Liquid reads it.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Num {
    Int(i64),
    Float(f64),
}

fn number(v: &dyn ValueView) -> Num {
    let Some(s) = v.as_scalar() else {
        return Num::Int(0);
    };
    if let Some(i) = s.to_integer() {
        Num::Int(i)
    } else if let Some(f) = s.to_float() {
        Num::Float(f)
    } else {
        parse(s.to_kstr().as_str())
    }
}

/// `"3.5"` is a float, `"12px"` is 12, `"<"` is 0 (Ruby's `to_i`).
fn parse(text: &str) -> Num {
    let t = text.trim();
    let float = regex_float(t);
    if let Some(f) = float {
        return Num::Float(f);
    }
    let sign_len = usize::from(t.starts_with('-') || t.starts_with('+'));
    let digits = t[sign_len..]
        .find(|c: char| !c.is_ascii_digit())
        .map_or(t.len(), |i| i + sign_len);
    Num::Int(t[..digits].parse().unwrap_or(0))
}

/// A whole string of the form `-12.5`.
fn regex_float(t: &str) -> Option<f64> {
    let body = t.strip_prefix('-').unwrap_or(t);
    let (a, b) = body.split_once('.')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    (digits(a) && digits(b)).then(|| t.parse().ok()).flatten()
}

fn value(n: Num) -> LValue {
    match n {
        Num::Int(i) => LValue::scalar(i),
        Num::Float(f) => LValue::scalar(f),
    }
}

fn float(n: Num) -> f64 {
    match n {
        Num::Int(i) => i as f64,
        Num::Float(f) => f,
    }
}

fn operand<'a>(args: &'a [LValue], name: &str) -> Result<&'a LValue> {
    args.first()
        .ok_or_else(|| Error::with_msg(format!("{name} needs a number")))
}

/// One arithmetic filter: integers when both sides are, floats otherwise.
fn arithmetic(
    name: &'static str,
    int: fn(i64, i64) -> Result<i64>,
    real: fn(f64, f64) -> f64,
) -> Jekyll {
    native(name, move |input, args, _| {
        let (a, b) = (number(input), number(operand(args, name)?));
        Ok(match (a, b) {
            (Num::Int(x), Num::Int(y)) => LValue::scalar(int(x, y)?),
            _ => value(Num::Float(real(float(a), float(b)))),
        })
    })
}

fn zero() -> Error {
    Error::with_msg("divided by 0")
}

/// The arithmetic filters, to register over the `liquid` crate's.
pub(super) fn filters() -> Vec<Jekyll> {
    vec![
        arithmetic("plus", |a, b| Ok(a.wrapping_add(b)), |a, b| a + b),
        arithmetic("minus", |a, b| Ok(a.wrapping_sub(b)), |a, b| a - b),
        arithmetic("times", |a, b| Ok(a.wrapping_mul(b)), |a, b| a * b),
        arithmetic(
            "divided_by",
            |a, b| {
                if b == 0 {
                    Err(zero())
                } else {
                    Ok(a.div_euclid(b) - i64::from(a.rem_euclid(b) != 0 && b < 0))
                }
            },
            |a, b| a / b,
        ),
        arithmetic(
            "modulo",
            |a, b| {
                if b == 0 {
                    Err(zero())
                } else {
                    Ok(((a % b) + b) % b)
                }
            },
            |a, b| a - b * (a / b).floor(),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_read_as_ruby_reads_them() {
        assert_eq!(parse("<"), Num::Int(0));
        assert_eq!(parse("12px"), Num::Int(12));
        assert_eq!(parse("-3"), Num::Int(-3));
        assert_eq!(parse("2.5"), Num::Float(2.5));
        assert_eq!(parse(""), Num::Int(0));
    }
}

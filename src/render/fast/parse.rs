//! The blueprint subset the fast path renders, parsed once into a tree.
//!
//! Supported: text; comments; `{{path}}`; the helpers `json`, `concat`, `id` and
//! `compliance` (with string, number, boolean and `null` literals, paths and
//! `(concat …)` / `(id …)` subexpressions as parameters); the blocks `#each`,
//! `#if` and `#unless` with one parameter and an optional `{{else}}`; partials
//! `{{> name key=value …}}`. Paths are `name.name…`, `../` prefixes, `this`,
//! `@root.…`, `@index`, `@first` and `@last`. Anything else (whitespace control,
//! triple braces, block parameters, other helpers, `../` inside a partial) makes
//! the blueprint unsupported: it then renders through Handlebars only.
//! Whitespace is not reproduced exactly (standalone lines keep their blanks):
//! the output is re-read as JSON, where whitespace between tokens does not count.

use crate::render::value::V;

/// Why a blueprint is not in the subset (for tests; the caller only falls back).
pub(crate) type Unsupported = String;

/// A value expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    Path(Path),
    Literal(V),
    Concat(Vec<Expr>),
    Id(Box<Expr>),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Path {
    /// `@root.a.b` (`@root` alone: no segments).
    Root(Vec<String>),
    /// `../../a.b`: `up` blocks out, then the segments (none: `this`).
    Rel { up: usize, segs: Vec<String> },
    /// `@index`, `@first`, `@last`.
    Local(Local),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Local {
    Index,
    First,
    Last,
}

/// One element of a parsed blueprint.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Text(String),
    /// `{{path}}` or `{{id x}}`: the value as text.
    Value(Expr),
    /// `{{json x}}`.
    Json(Expr),
    /// `{{compliance kind key=value …}}`.
    Compliance {
        kind: Expr,
        hash: Vec<(String, Expr)>,
    },
    /// `{{#if}}` (`negate`: `{{#unless}}`).
    If {
        cond: Expr,
        negate: bool,
        then: Vec<Node>,
        els: Vec<Node>,
    },
    Each {
        list: Expr,
        body: Vec<Node>,
        els: Option<Vec<Node>>,
    },
    Partial {
        name: String,
        hash: Vec<(String, Expr)>,
    },
}

/// Handlebars' own helpers: a bare name that is one of them is not a path.
const BUILTIN_HELPERS: &[&str] = &[
    "if",
    "unless",
    "each",
    "with",
    "lookup",
    "raw",
    "log",
    "eq",
    "ne",
    "gt",
    "gte",
    "lt",
    "lte",
    "and",
    "or",
    "not",
    "len",
    "json",
    "concat",
    "id",
    "compliance",
];

/// A block being parsed.
struct Open {
    name: String,
    cond: Expr,
    then: Vec<Node>,
    els: Option<Vec<Node>>,
}

/// Parses a blueprint; `partial`: it is used as `{{> name}}` (where `../` is not supported).
pub(crate) fn parse(text: &str, partial: bool) -> Result<Vec<Node>, Unsupported> {
    let mut stack: Vec<Open> = Vec::new();
    let mut top: Vec<Node> = Vec::new();
    let mut rest = text;
    loop {
        let Some(start) = rest.find("{{") else {
            push_text(current(&mut stack, &mut top), rest)?;
            break;
        };
        push_text(current(&mut stack, &mut top), &rest[..start])?;
        rest = &rest[start..];
        if let Some(after) = rest.strip_prefix("{{!--") {
            let end = after.find("--}}").ok_or("an unclosed comment")?;
            rest = &after[end + 4..];
            continue;
        }
        let end = rest.find("}}").ok_or("an unclosed tag")?;
        let inner = &rest[2..end];
        rest = &rest[end + 2..];
        if inner.starts_with('!') {
            continue;
        }
        if inner.starts_with(['{', '~', '&']) || inner.ends_with('~') || inner.contains("{{") {
            return Err(format!("`{{{{{inner}}}}}`"));
        }
        let inner = inner.trim();
        if let Some(block) = inner.strip_prefix('#') {
            let (name, args) = split_name(block);
            if !matches!(name, "each" | "if" | "unless") {
                return Err(format!("block `{name}`"));
            }
            let (params, hash) = params(args, partial)?;
            let [cond] = <[Expr; 1]>::try_from(params).map_err(|_| format!("`#{name}` takes one parameter"))?;
            if !hash.is_empty() {
                return Err(format!("`#{name}` with hash arguments"));
            }
            stack.push(Open {
                name: name.to_owned(),
                cond,
                then: Vec::new(),
                els: None,
            });
        } else if let Some(name) = inner.strip_prefix('/') {
            let open = stack.pop().ok_or("a closing tag without a block")?;
            if open.name != name.trim() {
                return Err(format!("`{{{{/{name}}}}}` closes `#{}`", open.name));
            }
            let node = match open.name.as_str() {
                "each" => Node::Each {
                    list: open.cond,
                    body: open.then,
                    els: open.els,
                },
                n => Node::If {
                    cond: open.cond,
                    negate: n == "unless",
                    then: open.then,
                    els: open.els.unwrap_or_default(),
                },
            };
            current(&mut stack, &mut top).push(node);
        } else if inner == "else" || inner == "^" {
            let open = stack.last_mut().ok_or("`else` outside a block")?;
            if open.els.is_some() {
                return Err("a second `else`".into());
            }
            open.els = Some(Vec::new());
        } else if let Some(call) = inner.strip_prefix('>') {
            let (name, args) = split_name(call.trim_start());
            if name.is_empty() || !name.bytes().all(is_name_byte) {
                return Err(format!("partial `{name}`"));
            }
            let (params, hash) = params(args, partial)?;
            if !params.is_empty() {
                return Err("a partial with a context parameter".into());
            }
            current(&mut stack, &mut top).push(Node::Partial {
                name: name.to_owned(),
                hash,
            });
        } else {
            let node = expression(inner, partial)?;
            current(&mut stack, &mut top).push(node);
        }
    }
    if let Some(open) = stack.pop() {
        return Err(format!("`#{}` is not closed", open.name));
    }
    Ok(top)
}

fn current<'s>(stack: &'s mut [Open], top: &'s mut Vec<Node>) -> &'s mut Vec<Node> {
    match stack.last_mut() {
        Some(open) => open.els.as_mut().unwrap_or(&mut open.then),
        None => top,
    }
}

fn push_text(nodes: &mut Vec<Node>, text: &str) -> Result<(), Unsupported> {
    if text.ends_with('\\') {
        return Err("an escaped `{{`".into());
    }
    if !text.is_empty() {
        nodes.push(Node::Text(text.to_owned()));
    }
    Ok(())
}

fn split_name(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    let end = s.find(char::is_whitespace).unwrap_or(s.len());
    (&s[..end], &s[end..])
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// `{{…}}` that is not a block, `else` or a partial.
fn expression(inner: &str, partial: bool) -> Result<Node, Unsupported> {
    let (name, args) = split_name(inner);
    let (params, hash) = params(args, partial)?;
    match name {
        "json" | "id" if hash.is_empty() => {
            let [p] = <[Expr; 1]>::try_from(params).map_err(|_| format!("`{name}` takes one parameter"))?;
            Ok(if name == "json" {
                Node::Json(p)
            } else {
                Node::Value(Expr::Id(Box::new(p)))
            })
        }
        "concat" if hash.is_empty() => Ok(Node::Value(Expr::Concat(params))),
        "compliance" => {
            let [kind] = <[Expr; 1]>::try_from(params).map_err(|_| "`compliance` takes one parameter")?;
            Ok(Node::Compliance { kind, hash })
        }
        _ if BUILTIN_HELPERS.contains(&name) => Err(format!("helper `{name}` here")),
        _ if params.is_empty() && hash.is_empty() => Ok(Node::Value(Expr::Path(path(name, partial)?))),
        _ => Err(format!("helper `{name}`")),
    }
}

/// `key=value` arguments of a helper or partial, in order.
type Hash = Vec<(String, Expr)>;

/// Splits helper arguments into positional parameters and `key=value` pairs.
fn params(args: &str, partial: bool) -> Result<(Vec<Expr>, Hash), Unsupported> {
    let mut positional = Vec::new();
    let mut hash = Vec::new();
    for token in tokens(args)? {
        let key_end = token
            .find('=')
            .filter(|&i| token.as_bytes()[..i].iter().copied().all(is_name_byte));
        match key_end {
            Some(i) if i > 0 && !token.starts_with(['"', '(']) => {
                hash.push((token[..i].to_owned(), operand(&token[i + 1..], partial)?));
            }
            _ if !hash.is_empty() => return Err("a parameter after hash arguments".into()),
            _ => positional.push(operand(token, partial)?),
        }
    }
    Ok((positional, hash))
}

/// Whitespace-separated tokens, keeping `"…"` and `( … )` whole.
fn tokens(s: &str) -> Result<Vec<&str>, Unsupported> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        let (mut depth, mut quoted) = (0usize, false);
        while i < b.len() {
            match b[i] {
                b'\\' => return Err("a backslash in an argument".into()),
                b'"' => quoted = !quoted,
                b'\'' if !quoted => return Err("a single-quoted argument".into()),
                b'(' if !quoted => depth += 1,
                b')' if !quoted => depth = depth.checked_sub(1).ok_or("an unbalanced `)`")?,
                c if c.is_ascii_whitespace() && !quoted && depth == 0 => break,
                _ => {}
            }
            i += 1;
        }
        if quoted || depth != 0 {
            return Err("an unclosed argument".into());
        }
        out.push(&s[start..i]);
    }
    Ok(out)
}

fn operand(token: &str, partial: bool) -> Result<Expr, Unsupported> {
    if let Some(inner) = token.strip_prefix('(').and_then(|t| t.strip_suffix(')')) {
        let (name, args) = split_name(inner);
        let (params, hash) = params(args, partial)?;
        if !hash.is_empty() {
            return Err(format!("`({name} …)` with hash arguments"));
        }
        return match name {
            "concat" => Ok(Expr::Concat(params)),
            "id" => {
                let [p] = <[Expr; 1]>::try_from(params).map_err(|_| "`id` takes one parameter")?;
                Ok(Expr::Id(Box::new(p)))
            }
            _ => Err(format!("subexpression `{name}`")),
        };
    }
    if let Some(s) = token.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        return Ok(Expr::Literal(V::Str(s.to_owned())));
    }
    match token {
        "true" => return Ok(Expr::Literal(V::Bool(true))),
        "false" => return Ok(Expr::Literal(V::Bool(false))),
        "null" => return Ok(Expr::Literal(V::Null)),
        _ => {}
    }
    if token.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
        let digits = token.strip_prefix('-').unwrap_or(token);
        if !digits.is_empty() && digits.bytes().all(|c| c.is_ascii_digit()) {
            let n: serde_json::Number = token.parse().map_err(|_| format!("number `{token}`"))?;
            return Ok(Expr::Literal(V::Num(n)));
        }
        return Err(format!("literal `{token}`"));
    }
    // A bare name in parameter position is a path, helper or not: Handlebars calls
    // helpers there only as `(subexpressions)`.
    Ok(Expr::Path(path(token, partial)?))
}

fn segments(s: &str) -> Result<Vec<String>, Unsupported> {
    s.split('.')
        .map(|seg| {
            if seg.is_empty() || seg == "this" || !seg.bytes().all(is_name_byte) {
                Err(format!("path segment `{seg}`"))
            } else {
                Ok(seg.to_owned())
            }
        })
        .collect()
}

fn path(token: &str, partial: bool) -> Result<Path, Unsupported> {
    match token {
        "@index" => return Ok(Path::Local(Local::Index)),
        "@first" => return Ok(Path::Local(Local::First)),
        "@last" => return Ok(Path::Local(Local::Last)),
        "this" => {
            return Ok(Path::Rel {
                up: 0,
                segs: Vec::new(),
            })
        }
        "@root" => return Ok(Path::Root(Vec::new())),
        _ => {}
    }
    if let Some(rest) = token.strip_prefix("@root.") {
        return Ok(Path::Root(segments(rest)?));
    }
    if let Some(rest) = token.strip_prefix("this.") {
        return Ok(Path::Rel {
            up: 0,
            segs: segments(rest)?,
        });
    }
    let mut rest = token;
    let mut up = 0;
    while let Some(r) = rest.strip_prefix("../") {
        up += 1;
        rest = r;
    }
    if up > 0 && partial {
        return Err("`../` in a partial".into());
    }
    if rest.starts_with('@') {
        return Err(format!("path `{token}`"));
    }
    Ok(Path::Rel {
        up,
        segs: segments(rest)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_subset() {
        let nodes = parse(
            "{{!-- c --}}a{{org}}{{#each xs}}{{json ../y}}{{#unless @last}},{{/unless}}{{else}}e{{/each}}{{> p k=@root.z n=1}}",
            false,
        )
        .expect("supported");
        assert_eq!(nodes.len(), 4, "{nodes:?}");
        assert_eq!(nodes[0], Node::Text("a".into()));
        assert_eq!(
            nodes[1],
            Node::Value(Expr::Path(Path::Rel {
                up: 0,
                segs: vec!["org".into()]
            }))
        );
        let Node::Each { body, els, .. } = &nodes[2] else {
            panic!("each: {nodes:?}");
        };
        assert_eq!(body.len(), 2);
        assert_eq!(els.as_deref(), Some(&[Node::Text("e".into())][..]));
        let Node::Partial { name, hash } = &nodes[3] else {
            panic!("partial: {nodes:?}");
        };
        assert_eq!(name, "p");
        assert_eq!(hash[0].1, Expr::Path(Path::Root(vec!["z".into()])));
        assert_eq!(hash[1].1, Expr::Literal(V::Num(1.into())));
    }

    #[test]
    fn refuses_what_it_does_not_know() {
        for text in [
            "{{~x}}",
            "{{x~}}",
            "{{{x}}}",
            "{{#with x}}{{/with}}",
            "{{#each xs as |x|}}{{/each}}",
            "{{lookup a b}}",
            "{{upper a}}",
            "{{#if a}}",
            "{{/if}}",
            "{{#if a}}{{/each}}",
            "\\{{a}}",
            "{{json 'a'}}",
            "{{json a.[b c]}}",
            "{{json @key}}",
            "{{#if a includeZero=true}}{{/if}}",
            "{{#> p}}x{{/p}}",
            "{{> (whichone)}}",
            "{{json (upper a)}}",
            "{{#if a}}{{else}}{{else}}{{/if}}",
            "{{json \"a\\\"b\"}}",
        ] {
            assert!(parse(text, false).is_err(), "{text}");
        }
        assert!(parse("{{json ../a}}", true).is_err(), "`../` in a partial");
        assert!(parse("{{json ../a}}", false).is_ok());
    }
}

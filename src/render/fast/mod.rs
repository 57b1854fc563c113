//! The fast path of rendering: blueprints in the subset of Handlebars that the
//! built-in ones use (see `parse`), parsed once and rendered straight from the
//! context's JSON tree (`value::V`, built from the typed context by serde) with
//! the same meaning Handlebars (strict mode) gives them.
//!
//! Rendering writes the text with stash markers for the arrays and objects
//! `{{json …}}` writes (see `stash`), by reference, for the canonical writer.
//! Whenever the fast path meets something whose outcome it does not reproduce
//! — a missing value (strict mode's error), `#each` over an object, a partial
//! that is not in the subset, a text that is not JSON — it gives up and the
//! caller renders the blueprint through Handlebars, which decides (and names
//! the error). Partials with hash arguments are supported when they contain
//! no block of their own that could see the hash (`#each`, partials), as the
//! built-in `bucket` is. No IO.

mod parse;

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::io::Write as _;

use super::value::V;

use parse::{Expr, Local, Node, Path};

/// A blueprint in the subset.
struct Compiled {
    nodes: Vec<Node>,
    /// No `#each` and no partial inside: as a partial, it may take hash arguments.
    plain: bool,
}

fn plain(nodes: &[Node]) -> bool {
    nodes.iter().all(|n| match n {
        Node::Each { .. } | Node::Partial { .. } => false,
        Node::If { then, els, .. } => plain(then) && plain(els),
        _ => true,
    })
}

/// The blueprints of the subset, by registered name (partials without their leading `_`).
#[derive(Default)]
pub(crate) struct Fast {
    templates: HashMap<String, Compiled>,
    partials: HashMap<String, Compiled>,
}

impl Fast {
    /// Parses every blueprint; those outside the subset are left out (they render through Handlebars).
    pub(crate) fn new<'s>(sources: impl IntoIterator<Item = (&'s str, &'s str)>) -> Fast {
        let mut fast = Fast::default();
        for (name, text) in sources {
            let partial = name.strip_prefix('_');
            let Ok(nodes) = parse::parse(text, partial.is_some()) else {
                continue;
            };
            let compiled = Compiled {
                plain: plain(&nodes),
                nodes,
            };
            match partial {
                Some(p) => fast.partials.insert(p.to_owned(), compiled),
                None => fast.templates.insert(name.to_owned(), compiled),
            };
        }
        fast
    }

    /// Whether a blueprint is in the subset (its partials are checked when it renders).
    pub(crate) fn supports(&self, blueprint: &str) -> bool {
        self.templates.contains_key(blueprint)
    }

    /// The canonical JSON of a blueprint rendered with `root`, and its number of resources;
    /// `None` when the fast path cannot tell (the caller renders through Handlebars).
    pub(crate) fn render(&self, blueprint: &str, root: &V) -> Option<(Vec<u8>, usize)> {
        thread_local! {
            static TEXT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
        }
        let template = self.templates.get(blueprint)?;
        let mut r = Renderer {
            fast: self,
            root,
            frames: vec![Frame {
                base: root,
                hash: Vec::new(),
                locals: None,
            }],
            out: TEXT.with(|t| std::mem::take(&mut *t.borrow_mut())),
            stashed: Vec::new(),
            depth: 0,
        };
        r.out.clear();
        let rendered = r.nodes(&template.nodes).ok();
        let done = rendered.and_then(|()| super::canonical::canonicalize_bytes(&r.out, &r.stashed));
        TEXT.with(|t| *t.borrow_mut() = std::mem::take(&mut r.out));
        done
    }
}

/// The fast path cannot tell what Handlebars would do here.
struct Fallback;

type Step<T> = Result<T, Fallback>;

/// A block's context: `#each` pushes one per item, a partial one for its body.
struct Frame<'a> {
    base: &'a V,
    /// A partial's hash arguments, which shadow the base's keys.
    hash: Vec<(&'a str, Cow<'a, V>)>,
    /// `@index` and the length of the list, inside `#each` (and partials within it).
    locals: Option<(usize, usize)>,
}

struct Renderer<'a> {
    fast: &'a Fast,
    root: &'a V,
    frames: Vec<Frame<'a>>,
    out: Vec<u8>,
    stashed: Vec<&'a V>,
    depth: usize,
}

/// One path segment as Handlebars follows it: a missing key is missing; a non-numeric
/// segment on an array is Handlebars' error.
fn step<'v>(v: &'v V, seg: &str) -> Step<Option<&'v V>> {
    Ok(match v {
        V::Obj(_) => v.get(seg),
        V::Arr(a) => a.get(seg.parse::<usize>().map_err(|_| Fallback)?),
        // Not held as a tree here.
        V::Doc(_) => return Err(Fallback),
        _ => None,
    })
}

fn follow<'a>(v: Cow<'a, V>, segs: &[String]) -> Step<Option<Cow<'a, V>>> {
    match v {
        Cow::Borrowed(mut cur) => {
            for seg in segs {
                match step(cur, seg)? {
                    Some(next) => cur = next,
                    None => return Ok(None),
                }
            }
            Ok(Some(Cow::Borrowed(cur)))
        }
        Cow::Owned(owned) => Ok(follow(Cow::Borrowed(&owned), segs)?.map(|v| Cow::Owned(v.into_owned()))),
    }
}

/// Handlebars' truthiness (`#if`, `#unless`).
fn truthy(v: &V) -> bool {
    match v {
        V::Bool(b) => *b,
        V::Num(n) => n.as_f64().is_some_and(f64::is_normal),
        V::Null => false,
        V::Str(s) => !s.is_empty(),
        V::Arr(a) => !a.is_empty(),
        V::Obj(o) => !o.is_empty(),
        // A document is a `serde_json::Value`: Handlebars' own test (`#if` without `includeZero`).
        V::Doc(doc) => handlebars::JsonTruthy::is_truthy(&**doc, false),
    }
}

/// The text `concat` and `id` take from a value.
fn text_of(v: &V) -> Step<Cow<'_, str>> {
    match v {
        V::Str(s) => Ok(Cow::Borrowed(s)),
        V::Num(n) => Ok(Cow::Owned(n.to_string())),
        V::Bool(b) => Ok(Cow::Owned(b.to_string())),
        _ => Err(Fallback),
    }
}

impl<'a> Renderer<'a> {
    fn path(&self, path: &'a Path) -> Step<Option<Cow<'a, V>>> {
        match path {
            Path::Root(segs) => follow(Cow::Borrowed(self.root), segs),
            Path::Local(local) => {
                let frame = self.frames.last().ok_or(Fallback)?;
                Ok(frame.locals.map(|(i, len)| {
                    Cow::Owned(match local {
                        Local::Index => V::Num(i.into()),
                        Local::First => V::Bool(i == 0),
                        Local::Last => V::Bool(i + 1 == len),
                    })
                }))
            }
            Path::Rel { up, segs } => {
                let at = self.frames.len().checked_sub(1 + up).ok_or(Fallback)?;
                let frame = &self.frames[at];
                if frame.hash.is_empty() {
                    return follow(Cow::Borrowed(frame.base), segs);
                }
                // A partial's context: its base merged with the hash (an object base only).
                let (Some(first), V::Obj(_)) = (segs.first(), frame.base) else {
                    return Err(Fallback);
                };
                match frame.hash.iter().find(|(k, _)| *k == first.as_str()) {
                    Some((_, v)) => follow(v.clone(), &segs[1..]),
                    None => follow(Cow::Borrowed(frame.base), segs),
                }
            }
        }
    }

    /// A value; `None` when missing.
    fn eval(&self, expr: &'a Expr) -> Step<Option<Cow<'a, V>>> {
        match expr {
            Expr::Path(p) => self.path(p),
            Expr::Literal(v) => Ok(Some(Cow::Borrowed(v))),
            Expr::Concat(parts) => {
                let mut s = String::new();
                for p in parts {
                    let v = self.eval(p)?.ok_or(Fallback)?;
                    s.push_str(&text_of(&v)?);
                }
                Ok(Some(Cow::Owned(V::Str(s))))
            }
            Expr::Id(p) => {
                let v = self.eval(p)?.ok_or(Fallback)?;
                let s = crate::synth::names::id_fragment(&text_of(&v)?);
                Ok(Some(Cow::Owned(V::Str(s))))
            }
        }
    }

    fn nodes(&mut self, nodes: &'a [Node]) -> Step<()> {
        for node in nodes {
            self.node(node)?;
        }
        Ok(())
    }

    fn node(&mut self, node: &'a Node) -> Step<()> {
        match node {
            Node::Text(t) => self.out.extend_from_slice(t.as_bytes()),
            Node::Value(e) => match self.eval(e)?.ok_or(Fallback)?.as_ref() {
                V::Str(s) => self.out.extend_from_slice(s.as_bytes()),
                V::Num(n) => self.out.extend_from_slice(n.to_string().as_bytes()),
                V::Bool(b) => self.out.extend_from_slice(if *b { b"true" } else { b"false" }),
                V::Null => {}
                _ => return Err(Fallback),
            },
            Node::Json(e) => self.json(e)?,
            Node::Compliance { kind, hash } => self.compliance(kind, hash)?,
            Node::If {
                cond,
                negate,
                then,
                els,
            } => {
                let v = self.eval(cond)?;
                let yes = v.is_some_and(|v| truthy(&v)) != *negate;
                self.nodes(if yes { then } else { els })?;
            }
            Node::Each { list, body, els } => self.each(list, body, els.as_deref())?,
            Node::Partial { name, hash } => self.partial(name, hash)?,
        }
        Ok(())
    }

    fn json(&mut self, e: &'a Expr) -> Step<()> {
        let v = self.eval(e)?.ok_or(Fallback)?;
        if let Cow::Borrowed(b) = &v {
            let b: &'a V = b;
            let worth_it = match b {
                V::Arr(a) => !a.is_empty(),
                V::Obj(o) => !o.is_empty(),
                V::Doc(_) => true,
                _ => false,
            };
            if worth_it {
                let n = self.stashed.len();
                self.stashed.push(b);
                self.out.push(super::stash::MARK);
                // Written in place: a `String` per marker would be hundreds of thousands of allocations.
                write!(self.out, "{n}").map_err(|_| Fallback)?;
                self.out.push(super::stash::MARK);
                return Ok(());
            }
        }
        // The canonical writer's bytes for the value: the canonical parser reads them back as is.
        super::canonical::Stashed::write(&*v, &mut self.out, 0);
        Ok(())
    }

    fn compliance(&mut self, kind: &'a Expr, hash: &'a [(String, Expr)]) -> Step<()> {
        let kind = self.eval(kind)?.ok_or(Fallback)?;
        let kind = kind.as_str().ok_or(Fallback)?;
        let values = hash
            .iter()
            .map(|(k, e)| Ok((k.as_str(), self.eval(e)?.ok_or(Fallback)?)))
            .collect::<Step<Vec<_>>>()?;
        // The rules read policies as `serde_json` values (a few per template): a document as it is.
        let values = values
            .iter()
            .map(|(k, v)| {
                let json = match v.as_ref() {
                    V::Doc(doc) => Cow::Borrowed(&**doc),
                    v => Cow::Owned(serde_json::to_value(v).map_err(|_| Fallback)?),
                };
                Ok((*k, json))
            })
            .collect::<Step<Vec<_>>>()?;
        let args: BTreeMap<&str, &serde_json::Value> = values.iter().map(|(k, v)| (*k, v.as_ref())).collect();
        let suppressions = crate::synth::compliance::applicable(kind, &args).map_err(|_| Fallback)?;
        if let Some(metadata) = crate::synth::compliance::metadata(&suppressions) {
            self.out.extend_from_slice(b"\"Metadata\": ");
            serde_json::to_writer(&mut self.out, &metadata).map_err(|_| Fallback)?;
            self.out.push(b',');
        }
        Ok(())
    }

    fn each(&mut self, list: &'a Expr, body: &'a [Node], els: Option<&'a [Node]>) -> Step<()> {
        let items = match self.eval(list)? {
            Some(Cow::Borrowed(V::Arr(a))) if !a.is_empty() || els.is_none() => a,
            // Over an object, or a list the fast path does not hold by reference.
            Some(Cow::Borrowed(V::Obj(o))) if !o.is_empty() || els.is_none() => return Err(Fallback),
            Some(Cow::Borrowed(V::Doc(_))) => return Err(Fallback),
            Some(Cow::Owned(_)) => return Err(Fallback),
            // Empty, missing or not a list: the `else` branch, or strict mode's error.
            _ => return self.nodes(els.ok_or(Fallback)?),
        };
        for (i, item) in items.iter().enumerate() {
            self.frames.push(Frame {
                base: item,
                hash: Vec::new(),
                locals: Some((i, items.len())),
            });
            let done = self.nodes(body);
            self.frames.pop();
            done?;
        }
        Ok(())
    }

    fn partial(&mut self, name: &str, hash: &'a [(String, Expr)]) -> Step<()> {
        let fast = self.fast;
        let partial = fast.partials.get(name).ok_or(Fallback)?;
        let current = self.frames.last().ok_or(Fallback)?;
        if !current.hash.is_empty() || self.depth > 16 {
            return Err(Fallback);
        }
        let (base, locals) = (current.base, current.locals);
        let plain_partial_on_object = partial.plain && matches!(base, V::Obj(_));
        if !hash.is_empty() && !plain_partial_on_object {
            return Err(Fallback);
        }
        // A missing hash value is `null` in the partial (Handlebars does not check it).
        let hash = hash
            .iter()
            .map(|(k, e)| Ok((k.as_str(), self.eval(e)?.unwrap_or(Cow::Owned(V::Null)))))
            .collect::<Step<Vec<_>>>()?;
        self.frames.push(Frame { base, hash, locals });
        self.depth += 1;
        let done = self.nodes(&partial.nodes);
        self.depth -= 1;
        self.frames.pop();
        done
    }
}

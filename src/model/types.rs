//! Glue/Hive column types: parsing and normalising `array<struct<a:int>>` and friends.
//!
//! Nesting is bounded so that a hostile type string cannot overflow the stack.

/// How deep `array<map<string,struct<...>>>` may nest.
const MAX_DEPTH: usize = 32;

const PRIMITIVES: &[&str] = &[
    "string",
    "boolean",
    "tinyint",
    "smallint",
    "int",
    "bigint",
    "float",
    "double",
    "date",
    "timestamp",
    "binary",
];

/// Parses a column type and returns it normalised (lowercase, no spaces), or why it is not one.
pub(crate) fn normalise(ty: &str) -> Result<String, String> {
    let lower = ty.to_ascii_lowercase();
    let mut p = Parser {
        s: lower.as_bytes(),
        pos: 0,
        out: String::with_capacity(ty.len()),
    };
    p.ty(0)?;
    p.ws();
    if p.pos != p.s.len() {
        return Err(format!("unexpected `{}`", p.rest()));
    }
    Ok(p.out)
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
    out: String,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.pos < self.s.len() && self.s[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }

    fn rest(&self) -> String {
        String::from_utf8_lossy(&self.s[self.pos..]).chars().take(20).collect()
    }

    fn word(&mut self) -> String {
        self.ws();
        let start = self.pos;
        while self.pos < self.s.len() && (self.s[self.pos].is_ascii_alphanumeric() || self.s[self.pos] == b'_') {
            self.pos += 1;
        }
        String::from_utf8_lossy(&self.s[start..self.pos]).into_owned()
    }

    fn expect(&mut self, c: u8) -> Result<(), String> {
        self.ws();
        if self.s.get(self.pos) == Some(&c) {
            self.pos += 1;
            self.out.push(c as char);
            Ok(())
        } else if self.pos >= self.s.len() {
            Err(format!("expected `{}` at the end", c as char))
        } else {
            Err(format!("expected `{}` before `{}`", c as char, self.rest()))
        }
    }

    fn peek(&mut self, c: u8) -> bool {
        self.ws();
        self.s.get(self.pos) == Some(&c)
    }

    fn number(&mut self) -> Result<u32, String> {
        let w = self.word();
        w.parse::<u32>().map_err(|_| format!("expected a number, found `{w}`"))
    }

    fn ty(&mut self, depth: usize) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err(format!("nested deeper than {MAX_DEPTH} levels"));
        }
        let w = self.word();
        match w.as_str() {
            "" => Err(if self.pos >= self.s.len() {
                "missing type".to_owned()
            } else {
                format!("unexpected `{}`", self.rest())
            }),
            "decimal" => {
                self.out.push_str("decimal");
                self.expect(b'(')?;
                let p = self.number()?;
                self.out.push_str(&p.to_string());
                self.expect(b',')?;
                let s = self.number()?;
                self.out.push_str(&s.to_string());
                self.expect(b')')?;
                if !(1..=38).contains(&p) || s > p {
                    return Err(format!(
                        "decimal({p},{s}) needs 1 <= precision <= 38 and scale <= precision"
                    ));
                }
                Ok(())
            }
            "array" => {
                self.out.push_str("array");
                self.expect(b'<')?;
                self.ty(depth + 1)?;
                self.expect(b'>')
            }
            "map" => {
                self.out.push_str("map");
                self.expect(b'<')?;
                let key_start = self.out.len();
                self.ty(depth + 1)?;
                let key = &self.out[key_start..];
                if !PRIMITIVES.contains(&key) && !key.starts_with("decimal(") {
                    return Err(format!("map keys must be a primitive type, not `{key}`"));
                }
                self.expect(b',')?;
                self.ty(depth + 1)?;
                self.expect(b'>')
            }
            "struct" => {
                self.out.push_str("struct");
                self.expect(b'<')?;
                let mut names = Vec::new();
                loop {
                    let name = self.word();
                    if !crate::model::is_ident(&name) {
                        return Err(if name.is_empty() {
                            "expected a struct field name".to_owned()
                        } else {
                            format!("`{name}` is not a valid struct field name")
                        });
                    }
                    if names.contains(&name) {
                        return Err(format!("struct field `{name}` appears twice"));
                    }
                    self.out.push_str(&name);
                    names.push(name);
                    self.expect(b':')?;
                    self.ty(depth + 1)?;
                    if self.peek(b',') {
                        self.expect(b',')?;
                    } else {
                        break;
                    }
                }
                self.expect(b'>')
            }
            prim if PRIMITIVES.contains(&prim) => {
                self.out.push_str(prim);
                Ok(())
            }
            other => Err(format!("unknown type `{other}`")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::normalise;

    #[test]
    fn accepts_the_glue_types() {
        for (input, want) in [
            ("string", "string"),
            ("INT", "int"),
            ("decimal(10, 2)", "decimal(10,2)"),
            ("array<string>", "array<string>"),
            ("map<string, array<int>>", "map<string,array<int>>"),
            ("struct<a:int, b : struct<c:date>>", "struct<a:int,b:struct<c:date>>"),
            ("array<decimal(38,0)>", "array<decimal(38,0)>"),
        ] {
            assert_eq!(normalise(input).as_deref(), Ok(want), "{input}");
        }
    }

    #[test]
    fn rejects_everything_else() {
        for (input, why) in [
            ("varchar(10)", "unknown type `varchar`"),
            ("", "missing type"),
            ("array<>", "unexpected `>`"),
            ("array<int", "expected `>` at the end"),
            (
                "decimal(39,1)",
                "decimal(39,1) needs 1 <= precision <= 38 and scale <= precision",
            ),
            (
                "decimal(4,5)",
                "decimal(4,5) needs 1 <= precision <= 38 and scale <= precision",
            ),
            (
                "map<array<int>,int>",
                "map keys must be a primitive type, not `array<int>`",
            ),
            ("struct<a:int,a:int>", "struct field `a` appears twice"),
            ("int int", "unexpected `int`"),
        ] {
            assert_eq!(normalise(input), Err(why.to_owned()), "{input}");
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let deep = format!("{}int{}", "array<".repeat(100_000), ">".repeat(100_000));
        assert_eq!(normalise(&deep), Err("nested deeper than 32 levels".to_owned()));
    }
}

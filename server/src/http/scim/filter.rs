//! SCIM filters and attribute paths (RFC 7644 §3.4.2.2, §3.5.2): a parser of untrusted text
//! into [`Filter`] and [`PatchPath`], and their evaluation over a resource's JSON form.
//!
//! ```text
//! FILTER    = attrExp / logExp / valuePath / *1"not" "(" FILTER ")"   and grouping "(" FILTER ")"
//! valuePath = attrPath "[" valFilter "]"
//! attrExp   = (attrPath SP "pr") / (attrPath SP compareOp SP compValue)
//! compareOp = "eq" / "ne" / "co" / "sw" / "ew" / "gt" / "lt" / "ge" / "le"
//! compValue = false / null / true / number / string
//! attrPath  = [URI ":"] ATTRNAME *1subAttr
//! PATH      = attrPath / valuePath [subAttr]                          (PATCH)
//! ```
//!
//! Precedence is `not` over `and` over `or`; keywords and attribute names are case-insensitive.
//! Input is bounded ([`MAX_LEN`] characters, [`MAX_DEPTH`] nesting), so no filter makes the
//! parser or the evaluation recurse without end.

use std::cmp::Ordering;

use serde_json::Value;

/// The longest filter or path accepted, in bytes.
pub const MAX_LEN: usize = 4096;
/// The deepest nesting of parentheses, `not` and value paths accepted.
pub const MAX_DEPTH: usize = 32;

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// `[URI ":"] name [. sub]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    /// The schema URI, when the path names one.
    pub uri: Option<String>,
    pub name: String,
    pub sub: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CompValue {
    Null,
    Bool(bool),
    Number(f64),
    Str(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Present(AttrPath),
    Compare(AttrPath, Op, CompValue),
    Not(Box<Filter>),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    /// `attr[filter]`: some value of the multi-valued `attr` matches `filter`.
    ValuePath(AttrPath, Box<Filter>),
}

/// A PATCH operation's `path`: an attribute, optionally narrowed to the values a filter
/// selects, optionally one sub-attribute of them.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    pub attr: AttrPath,
    pub filter: Option<Filter>,
    /// The sub-attribute after a value filter (`emails[type eq "work"].value`).
    pub sub: Option<String>,
}

/// Why a filter or path was refused, for the SCIM error's `detail`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(pub String);

type Parsed<T> = Result<T, ParseError>;

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Str(String),
    Number(f64),
    Open,
    Close,
    OpenBracket,
    CloseBracket,
}

fn fail<T>(message: impl Into<String>) -> Parsed<T> {
    Err(ParseError(message.into()))
}

fn tokenize(text: &str) -> Parsed<Vec<Token>> {
    if text.len() > MAX_LEN {
        return fail(format!("longer than {MAX_LEN} characters"));
    }
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\n' | '\r' => i += 1,
            '(' => {
                tokens.push(Token::Open);
                i += 1;
            }
            ')' => {
                tokens.push(Token::Close);
                i += 1;
            }
            '[' => {
                tokens.push(Token::OpenBracket);
                i += 1;
            }
            ']' => {
                tokens.push(Token::CloseBracket);
                i += 1;
            }
            '"' => {
                let start = i;
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    if chars[i] == '\\' {
                        i += 1;
                    }
                    i += 1;
                }
                if i >= chars.len() {
                    return fail("a string is not closed");
                }
                i += 1;
                let quoted: String = chars[start..i].iter().collect();
                let value: String =
                    serde_json::from_str(&quoted).map_err(|_| ParseError("a string is not valid JSON".into()))?;
                tokens.push(Token::Str(value));
            }
            c if c == '-' || c.is_ascii_digit() => {
                let start = i;
                i += 1;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || matches!(chars[i], '.' | '+' | '-')) {
                    i += 1;
                }
                let text: String = chars[start..i].iter().collect();
                let number: f64 = text.parse().map_err(|_| ParseError(format!("`{text}` is not a number")))?;
                if !number.is_finite() {
                    return fail(format!("`{text}` is not a number"));
                }
                tokens.push(Token::Number(number));
            }
            _ => {
                let start = i;
                while i < chars.len() && !matches!(chars[i], ' ' | '\t' | '\n' | '\r' | '(' | ')' | '[' | ']' | '"') {
                    i += 1;
                }
                tokens.push(Token::Word(chars[start..i].iter().collect()));
            }
        }
    }
    Ok(tokens)
}

fn is_name(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Parses `[URI ":"] name [. sub]`.
pub fn parse_attr_path(text: &str) -> Parsed<AttrPath> {
    let (uri, rest) = match text.rfind(':') {
        Some(at) => (Some(&text[..at]), &text[at + 1..]),
        None => (None, text),
    };
    if let Some(uri) = uri {
        if !uri.to_ascii_lowercase().starts_with("urn:") || uri.chars().any(char::is_whitespace) {
            return fail(format!("`{uri}` is not a schema URN"));
        }
    }
    let (name, sub) = match rest.split_once('.') {
        Some((name, sub)) => (name, Some(sub)),
        None => (rest, None),
    };
    if !is_name(name) || sub.is_some_and(|s| !is_name(s)) {
        return fail(format!("`{text}` is not an attribute path"));
    }
    Ok(AttrPath { uri: uri.map(str::to_owned), name: name.to_owned(), sub: sub.map(str::to_owned) })
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        token
    }

    fn peek_word(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    fn deeper(&mut self) -> Parsed<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return fail(format!("nested deeper than {MAX_DEPTH}"));
        }
        Ok(())
    }

    fn or(&mut self) -> Parsed<Filter> {
        let mut left = self.and()?;
        while self.peek_word("or") {
            self.at += 1;
            left = Filter::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Parsed<Filter> {
        let mut left = self.unary()?;
        while self.peek_word("and") {
            self.at += 1;
            left = Filter::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Parsed<Filter> {
        if self.peek_word("not") && matches!(self.tokens.get(self.at + 1), Some(Token::Open)) {
            self.at += 2;
            self.deeper()?;
            let inner = self.or()?;
            self.close(Token::Close, ")")?;
            self.depth -= 1;
            return Ok(Filter::Not(Box::new(inner)));
        }
        if matches!(self.peek(), Some(Token::Open)) {
            self.at += 1;
            self.deeper()?;
            let inner = self.or()?;
            self.close(Token::Close, ")")?;
            self.depth -= 1;
            return Ok(inner);
        }
        self.expression()
    }

    fn close(&mut self, token: Token, shown: &str) -> Parsed<()> {
        match self.next() {
            Some(t) if t == token => Ok(()),
            _ => fail(format!("`{shown}` expected")),
        }
    }

    fn expression(&mut self) -> Parsed<Filter> {
        let path = match self.next() {
            Some(Token::Word(w)) => parse_attr_path(&w)?,
            _ => return fail("an attribute path expected"),
        };
        if matches!(self.peek(), Some(Token::OpenBracket)) {
            if path.sub.is_some() {
                return fail("a value filter follows an attribute, not a sub-attribute");
            }
            self.at += 1;
            self.deeper()?;
            let inner = self.or()?;
            self.close(Token::CloseBracket, "]")?;
            self.depth -= 1;
            return Ok(Filter::ValuePath(path, Box::new(inner)));
        }
        let op = match self.next() {
            Some(Token::Word(w)) => w.to_ascii_lowercase(),
            _ => return fail("an operator expected after an attribute path"),
        };
        let op = match op.as_str() {
            "pr" => return Ok(Filter::Present(path)),
            "eq" => Op::Eq,
            "ne" => Op::Ne,
            "co" => Op::Co,
            "sw" => Op::Sw,
            "ew" => Op::Ew,
            "gt" => Op::Gt,
            "ge" => Op::Ge,
            "lt" => Op::Lt,
            "le" => Op::Le,
            other => return fail(format!("`{other}` is not an operator")),
        };
        let value = match self.next() {
            Some(Token::Str(s)) => CompValue::Str(s),
            Some(Token::Number(n)) => CompValue::Number(n),
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("true") => CompValue::Bool(true),
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("false") => CompValue::Bool(false),
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("null") => CompValue::Null,
            _ => return fail("a value (string, number, true, false or null) expected"),
        };
        Ok(Filter::Compare(path, op, value))
    }
}

/// Parses a `filter` query parameter.
pub fn parse(text: &str) -> Parsed<Filter> {
    let mut parser = Parser { tokens: tokenize(text)?, at: 0, depth: 0 };
    let filter = parser.or()?;
    if parser.at != parser.tokens.len() {
        return fail("unexpected text after the filter");
    }
    Ok(filter)
}

/// Parses a PATCH operation's `path`.
pub fn parse_path(text: &str) -> Parsed<PatchPath> {
    let text = text.trim();
    let Some(open) = text.find('[') else {
        return Ok(PatchPath { attr: parse_attr_path(text)?, filter: None, sub: None });
    };
    let close = text.rfind(']').ok_or_else(|| ParseError("`]` expected".into()))?;
    if close < open {
        return fail("`]` expected");
    }
    let attr = parse_attr_path(&text[..open])?;
    if attr.sub.is_some() {
        return fail("a value filter follows an attribute, not a sub-attribute");
    }
    let filter = parse(&text[open + 1..close])?;
    let sub = match &text[close + 1..] {
        "" => None,
        rest => match rest.strip_prefix('.') {
            Some(sub) if is_name(sub) => Some(sub.to_owned()),
            _ => return fail(format!("`{rest}` after a value filter is not a sub-attribute")),
        },
    };
    Ok(PatchPath { attr, filter: Some(filter), sub })
}

/// The member of `object` named `name`, compared case-insensitively.
pub fn member<'a>(object: &'a Value, name: &str) -> Option<&'a Value> {
    object.as_object()?.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v)
}

/// What `path` names in `resource`: the core attribute, or the extension's.
pub fn resolve<'a>(resource: &'a Value, path: &AttrPath) -> Option<&'a Value> {
    let base = match &path.uri {
        Some(uri) if !is_core(uri) => member(resource, uri)?,
        _ => resource,
    };
    let value = member(base, &path.name)?;
    match &path.sub {
        None => Some(value),
        Some(sub) => match value {
            Value::Array(_) => Some(value),
            _ => member(value, sub),
        },
    }
}

/// True for the core schemas' URNs, whose attributes are the resource's own members.
pub fn is_core(uri: &str) -> bool {
    uri.eq_ignore_ascii_case(USER_SCHEMA) || uri.eq_ignore_ascii_case(GROUP_SCHEMA)
}

/// Attributes compared case-sensitively (RFC 7643 `caseExact`).
fn case_exact(path: &AttrPath) -> bool {
    let name = path.sub.as_deref().unwrap_or(&path.name);
    ["id", "externalId", "$ref", "version"].iter().any(|n| n.eq_ignore_ascii_case(name))
        || (path.name.eq_ignore_ascii_case("members") && path.sub.as_deref().is_some_and(|s| s == "value"))
}

impl Filter {
    /// Whether the filter reads the attribute `name` (at the top of the resource).
    pub fn reads(&self, name: &str) -> bool {
        match self {
            Filter::And(a, b) | Filter::Or(a, b) => a.reads(name) || b.reads(name),
            Filter::Not(inner) => inner.reads(name),
            Filter::Present(path) | Filter::Compare(path, _, _) | Filter::ValuePath(path, _) => {
                path.name.eq_ignore_ascii_case(name)
            }
        }
    }

    /// Whether `resource` (a resource's or a value's JSON form) matches.
    pub fn matches(&self, resource: &Value) -> bool {
        match self {
            Filter::And(a, b) => a.matches(resource) && b.matches(resource),
            Filter::Or(a, b) => a.matches(resource) || b.matches(resource),
            Filter::Not(inner) => !inner.matches(resource),
            Filter::Present(path) => candidates(resource, path).iter().any(|v| present(v)),
            Filter::Compare(path, op, value) => {
                let exact = case_exact(path);
                let found = candidates(resource, path);
                match op {
                    Op::Ne => !found.iter().any(|v| compare(v, Op::Eq, value, exact)),
                    _ => found.iter().any(|v| compare(v, *op, value, exact)),
                }
            }
            Filter::ValuePath(path, inner) => match resolve(resource, path) {
                Some(Value::Array(values)) => values.iter().any(|v| inner.matches(v)),
                Some(value @ Value::Object(_)) => inner.matches(value),
                _ => false,
            },
        }
    }
}

/// The simple values `path` names in `resource`: every element of a multi-valued attribute
/// (its `value`, or its sub-attribute), else the attribute itself.
fn candidates<'a>(resource: &'a Value, path: &AttrPath) -> Vec<&'a Value> {
    let Some(value) = resolve(resource, path) else { return Vec::new() };
    let pick = |v: &'a Value| -> Option<&'a Value> {
        match (v, &path.sub) {
            (Value::Object(_), Some(sub)) => member(v, sub),
            (Value::Object(_), None) => member(v, "value"),
            (other, _) => Some(other),
        }
    };
    match value {
        Value::Array(values) => values.iter().filter_map(pick).collect(),
        Value::Object(_) if path.sub.is_none() => pick(value).into_iter().collect(),
        other => vec![other],
    }
}

fn present(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    }
}

fn compare(actual: &Value, op: Op, expected: &CompValue, exact: bool) -> bool {
    match (actual, expected) {
        (Value::Null, CompValue::Null) => op == Op::Eq,
        (_, CompValue::Null) => false,
        (Value::Bool(a), CompValue::Bool(b)) => op == Op::Eq && a == b,
        (Value::Number(a), CompValue::Number(b)) => {
            let Some(a) = a.as_f64() else { return false };
            ordered(a.partial_cmp(b), op)
        }
        (Value::String(a), CompValue::Str(b)) => {
            let (a, b) = if exact { (a.clone(), b.clone()) } else { (a.to_lowercase(), b.to_lowercase()) };
            match op {
                Op::Co => a.contains(&b),
                Op::Sw => a.starts_with(&b),
                Op::Ew => a.ends_with(&b),
                _ => ordered(Some(a.cmp(&b)), op),
            }
        }
        _ => false,
    }
}

fn ordered(ordering: Option<Ordering>, op: Op) -> bool {
    let Some(ordering) = ordering else { return false };
    match op {
        Op::Eq => ordering == Ordering::Equal,
        Op::Ne => ordering != Ordering::Equal,
        Op::Gt => ordering == Ordering::Greater,
        Op::Ge => ordering != Ordering::Less,
        Op::Lt => ordering == Ordering::Less,
        Op::Le => ordering != Ordering::Greater,
        Op::Co | Op::Sw | Op::Ew => false,
    }
}

#[cfg(test)]
#[path = "filter_tests.rs"]
mod tests;

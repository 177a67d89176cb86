//! Recursive-descent parser of the SQL subset (spec tsdb-sql.md part A).
//!
//! Every error says where: `syntax error near "xyz" (at position 17):
//! expected ...`, the text being the statement from the offending token on,
//! like TDengine's own message.
//!
//! May import: `error`, `limits`, `types`, its parent's `ast`, `lexer`.

use super::ast::*;
use super::lexer::{Tok, Token, tokenize};
use crate::error::{DbError, Result};
use crate::limits::{MAX_EXPR_DEPTH, MAX_IN_LIST, MAX_SELECT_ITEMS, too_deep};
use crate::types::{DataType, MAX_BINARY_LEN};

/// Parses one statement (a trailing `;` is allowed).
pub fn parse(sql: &str) -> Result<Statement> {
    let mut p = Parser {
        sql,
        toks: tokenize(sql)?,
        i: 0,
        nest: 0,
        depth: 0,
    };
    if p.peek() == &Tok::End {
        return Err(DbError::syntax("empty statement"));
    }
    let stmt = p.statement()?;
    p.eat_sym(";");
    if p.peek() != &Tok::End {
        return Err(p.error("end of statement"));
    }
    Ok(stmt)
}

/// The parser's recursion and the trees it builds are both bounded by
/// [`MAX_EXPR_DEPTH`]: `nest` counts the expression calls on the stack
/// (parentheses, function arguments, `NOT`, unary signs), `depth` is the
/// height of the tree the last expression call returned (so a chain
/// `1+1+...+1`, which the parser builds in a loop, is bounded too: every
/// evaluator and `Drop` recurse on that height).
struct Parser<'a> {
    sql: &'a str,
    toks: Vec<Token>,
    i: usize,
    nest: usize,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> &Tok {
        &self.toks[self.i].tok
    }

    fn peek_at(&self, k: usize) -> &Tok {
        &self.toks[(self.i + k).min(self.toks.len() - 1)].tok
    }

    fn pos(&self) -> usize {
        self.toks[self.i].pos
    }

    fn next(&mut self) -> Token {
        let t = self.toks[self.i].clone();
        if self.i + 1 < self.toks.len() {
            self.i += 1;
        }
        t
    }

    fn error(&self, expected: &str) -> DbError {
        let pos = self.pos();
        let near: String = self.sql[pos..].chars().take(32).collect();
        if near.is_empty() {
            DbError::syntax(format!(
                "syntax error: unexpected end of statement, expected {expected}"
            ))
        } else {
            DbError::syntax(format!(
                "syntax error near \"{near}\" (at position {pos}): expected {expected}"
            ))
        }
    }

    fn is_word(&self, w: &str) -> bool {
        matches!(self.peek(), Tok::Word(x) if x == w)
    }

    fn eat_word(&mut self, w: &str) -> bool {
        if self.is_word(w) {
            self.next();
            true
        } else {
            false
        }
    }

    fn expect_word(&mut self, w: &str) -> Result<()> {
        if self.eat_word(w) {
            Ok(())
        } else {
            Err(self.error(&w.to_uppercase()))
        }
    }

    fn eat_sym(&mut self, s: &str) -> bool {
        if matches!(self.peek(), Tok::Sym(x) if *x == s) {
            self.next();
            true
        } else {
            false
        }
    }

    fn expect_sym(&mut self, s: &str) -> Result<()> {
        if self.eat_sym(s) {
            Ok(())
        } else {
            Err(self.error(&format!("'{s}'")))
        }
    }

    fn ident(&mut self, what: &str) -> Result<String> {
        match self.peek().clone() {
            Tok::Word(w) => {
                self.next();
                Ok(w)
            }
            Tok::Quoted(w) => {
                self.next();
                Ok(w)
            }
            _ => Err(self.error(what)),
        }
    }

    fn obj_name(&mut self, what: &str) -> Result<ObjName> {
        let first = self.ident(what)?;
        if self.eat_sym(".") {
            let name = self.ident(what)?;
            Ok(ObjName {
                db: Some(first),
                name,
            })
        } else {
            Ok(ObjName {
                db: None,
                name: first,
            })
        }
    }

    fn if_not_exists(&mut self) -> Result<bool> {
        if self.eat_word("if") {
            self.expect_word("not")?;
            self.expect_word("exists")?;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    fn if_exists(&mut self) -> Result<bool> {
        if self.eat_word("if") {
            self.expect_word("exists")?;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    fn int(&mut self, what: &str) -> Result<i64> {
        let neg = self.eat_sym("-");
        match self.peek().clone() {
            Tok::Int(v) => {
                self.next();
                Ok(if neg { -v } else { v })
            }
            _ => Err(self.error(what)),
        }
    }

    fn statement(&mut self) -> Result<Statement> {
        let Tok::Word(w) = self.peek().clone() else {
            return Err(self.error("a statement"));
        };
        match w.as_str() {
            "create" => {
                self.next();
                self.create()
            }
            "drop" => {
                self.next();
                self.drop()
            }
            "use" => {
                self.next();
                Ok(Statement::Use(self.ident("a database name")?))
            }
            "flush" => {
                self.next();
                self.expect_word("database")?;
                Ok(Statement::Flush(self.ident("a database name")?))
            }
            "compact" => {
                self.next();
                self.expect_word("database")?;
                Ok(Statement::Compact(self.ident("a database name")?))
            }
            "show" => {
                self.next();
                self.show()
            }
            "describe" | "desc" => {
                self.next();
                Ok(Statement::Describe(self.obj_name("a table name")?))
            }
            "insert" | "import" => {
                self.next();
                self.expect_word("into")?;
                self.insert()
            }
            "select" => Ok(Statement::Select(Box::new(self.select()?))),
            "alter" => {
                self.next();
                self.alter()
            }
            "kill" => {
                self.next();
                self.expect_word("stream")?;
                let mut id = self.int("a stream id")?;
                // 2.x: KILL STREAM <connection>:<stream>
                if self.eat_sym(":") {
                    id = self.int("a stream id")?;
                }
                Ok(Statement::KillStream(id))
            }
            "update" => {
                self.next();
                if self.eat_word("all") {
                    self.expect_word("anodes")?;
                    return Ok(Statement::UpdateAnode(None));
                }
                self.expect_word("anode")
                    .map_err(|_| self.error("ANODE or ALL ANODES"))?;
                Ok(Statement::UpdateAnode(Some(self.int("an anode id")?)))
            }
            _ => Err(self.error(
                "a statement (CREATE, DROP, USE, SHOW, DESCRIBE, INSERT, SELECT, ALTER, UPDATE, KILL)",
            )),
        }
    }

    /// `CREATE STREAM [IF NOT EXISTS] name [options] INTO [db.]t AS SELECT`.
    fn create_stream(&mut self) -> Result<Statement> {
        let if_not_exists = self.if_not_exists()?;
        let name = self.ident("a stream name")?;
        let mut options = Vec::new();
        while !self.is_word("into") {
            let mut key = match self.next().tok {
                Tok::Word(w) => w,
                _ => {
                    self.i -= 1;
                    return Err(self.error("a stream option or INTO"));
                }
            };
            // two-word options: IGNORE EXPIRED, IGNORE UPDATE
            if key == "ignore" {
                key = format!("ignore_{}", self.ident("EXPIRED or UPDATE")?);
            }
            let value = match self.next().tok {
                Tok::Word(w) => Expr::Column(w),
                Tok::Int(i) => Expr::Int(i),
                Tok::Duration(c, u) => Expr::Duration(Duration { count: c, unit: u }),
                _ => {
                    self.i -= 1;
                    return Err(self.error(&format!("a value for the stream option {key}")));
                }
            };
            // TRIGGER MAX_DELAY 5s
            if key == "trigger" && value == Expr::Column("max_delay".into()) {
                options.push(("max_delay".to_owned(), Expr::Duration(self.duration()?)));
            }
            options.push((key, value));
        }
        self.expect_word("into")?;
        let target = self.obj_name("a table name")?;
        self.expect_word("as")?;
        self.stream_select(Some(name), if_not_exists, target, options)
    }

    fn stream_select(
        &mut self,
        name: Option<String>,
        if_not_exists: bool,
        target: ObjName,
        options: Vec<(String, Expr)>,
    ) -> Result<Statement> {
        let start = self.pos();
        let select = Box::new(self.select()?);
        let end = self.toks[self.i.saturating_sub(1)].pos + self.toks[self.i.saturating_sub(1)].len;
        let sql = self.sql[start..end].trim().to_owned();
        Ok(Statement::CreateStream(Box::new(CreateStream {
            name,
            if_not_exists,
            target,
            options,
            select,
            sql,
        })))
    }

    fn create(&mut self) -> Result<Statement> {
        if self.eat_word("stream") {
            return self.create_stream();
        }
        if self.eat_word("anode") {
            return match self.next().tok {
                Tok::Str(url) => Ok(Statement::CreateAnode(url)),
                _ => {
                    self.i -= 1;
                    Err(self.error("a quoted anode address such as '127.0.0.1:6050'"))
                }
            };
        }
        if self.eat_word("database") {
            let if_not_exists = self.if_not_exists()?;
            let name = self.ident("a database name")?;
            let options = self.db_options()?;
            return Ok(Statement::CreateDatabase {
                name,
                if_not_exists,
                options,
            });
        }
        let stable = self.eat_word("stable");
        if !stable {
            self.expect_word("table")
                .map_err(|_| self.error("DATABASE, TABLE or STABLE"))?;
        }
        let if_not_exists = self.if_not_exists()?;
        let name = self.obj_name("a table name")?;
        if !stable && self.is_word("using") {
            let mut subs = vec![self.sub_table(name, if_not_exists)?];
            while matches!(self.peek(), Tok::Word(_) | Tok::Quoted(_)) {
                let ine = self.if_not_exists()?;
                let n = self.obj_name("a table name")?;
                subs.push(self.sub_table(n, ine)?);
            }
            return Ok(Statement::CreateSubTables(subs));
        }
        if !stable && self.eat_word("as") {
            return self.stream_select(None, if_not_exists, name, Vec::new());
        }
        self.expect_sym("(")?;
        let columns = self.column_defs()?;
        let tags = if self.eat_word("tags") {
            self.expect_sym("(")?;
            self.column_defs()?
        } else {
            Vec::new()
        };
        if stable && tags.is_empty() {
            return Err(self.error("TAGS (...) for a super table"));
        }
        Ok(Statement::CreateTable {
            name,
            if_not_exists,
            columns,
            tags,
        })
    }

    /// `USING st [(tag, ...)] TAGS (v, ...)` after the table name.
    fn sub_table(&mut self, name: ObjName, if_not_exists: bool) -> Result<SubTable> {
        self.expect_word("using")?;
        let stable = self.obj_name("a super table name")?;
        let tag_names = if self.eat_sym("(") {
            Some(self.ident_list()?)
        } else {
            None
        };
        self.expect_word("tags")?;
        self.expect_sym("(")?;
        let tag_values = self.expr_list()?;
        self.expect_sym(")")?;
        Ok(SubTable {
            name,
            if_not_exists,
            stable,
            tag_names,
            tag_values,
        })
    }

    /// Identifiers up to and including `)`.
    fn ident_list(&mut self) -> Result<Vec<String>> {
        let mut v = vec![self.ident("a name")?];
        while self.eat_sym(",") {
            v.push(self.ident("a name")?);
        }
        self.expect_sym(")")?;
        Ok(v)
    }

    fn column_defs(&mut self) -> Result<Vec<ColumnDef>> {
        let mut v = Vec::new();
        loop {
            let name = self.ident("a column name")?;
            let ty = self.data_type()?;
            v.push(ColumnDef { name, ty });
            if !self.eat_sym(",") {
                break;
            }
        }
        self.expect_sym(")")?;
        Ok(v)
    }

    fn data_type(&mut self) -> Result<DataType> {
        let Tok::Word(w) = self.peek().clone() else {
            return Err(self.error("a data type"));
        };
        self.next();
        let ty = match w.as_str() {
            "timestamp" => DataType::Timestamp,
            "bool" => DataType::Bool,
            "tinyint" => DataType::TinyInt,
            "smallint" => DataType::SmallInt,
            "int" | "integer" => DataType::Int,
            "bigint" => DataType::BigInt,
            "float" => DataType::Float,
            "double" => DataType::Double,
            "binary" | "varchar" | "nchar" => {
                self.expect_sym("(")?;
                let n = self.int("a length")?;
                self.expect_sym(")")?;
                if n <= 0 || n > i64::from(MAX_BINARY_LEN) {
                    return Err(DbError::invalid(format!(
                        "invalid {} length {n}, expected 1 to {MAX_BINARY_LEN}",
                        w.to_uppercase()
                    )));
                }
                if w == "nchar" {
                    DataType::NChar(n as u32)
                } else {
                    DataType::Binary(n as u32)
                }
            }
            "json" | "geometry" | "varbinary" | "decimal" | "blob" => {
                return Err(DbError::unsupported(format!(
                    "data type {} is not supported",
                    w.to_uppercase()
                )));
            }
            _ => {
                self.i -= 1;
                return Err(self.error("a data type"));
            }
        };
        if self.is_word("unsigned") {
            return Err(DbError::unsupported("UNSIGNED types are not supported"));
        }
        Ok(ty)
    }

    /// `KEEP 3650 DAYS 10 ...` (also `KEEP 30d`, `PRECISION 'us'`).
    fn db_options(&mut self) -> Result<Vec<(String, Expr)>> {
        let mut v = Vec::new();
        while let Tok::Word(w) = self.peek().clone() {
            self.next();
            let value = match self.peek().clone() {
                Tok::Int(i) => Expr::Int(i),
                Tok::Str(s) => Expr::Str(s),
                Tok::Duration(c, u) => Expr::Duration(Duration { count: c, unit: u }),
                Tok::Word(x) => Expr::Str(x),
                _ => return Err(self.error(&format!("a value for {}", w.to_uppercase()))),
            };
            self.next();
            // KEEP k0,k1,k2 (tiered storage): the last one is the retention
            let mut value = value;
            while self.eat_sym(",") {
                value = match self.next().tok {
                    Tok::Int(i) => Expr::Int(i),
                    Tok::Duration(c, u) => Expr::Duration(Duration { count: c, unit: u }),
                    _ => return Err(self.error("a number")),
                };
            }
            v.push((w, value));
        }
        Ok(v)
    }

    fn drop(&mut self) -> Result<Statement> {
        if self.eat_word("stream") {
            let if_exists = self.if_exists()?;
            let name = self.ident("a stream name")?;
            return Ok(Statement::DropStream { name, if_exists });
        }
        if self.eat_word("anode") {
            return Ok(Statement::DropAnode(self.int("an anode id")?));
        }
        if self.eat_word("database") {
            let if_exists = self.if_exists()?;
            let name = self.ident("a database name")?;
            return Ok(Statement::DropDatabase { name, if_exists });
        }
        let stable = self.eat_word("stable");
        if !stable {
            self.expect_word("table")
                .map_err(|_| self.error("DATABASE, TABLE or STABLE"))?;
        }
        let if_exists = self.if_exists()?;
        let name = self.obj_name("a table name")?;
        Ok(Statement::Drop {
            name,
            if_exists,
            stable,
        })
    }

    fn show(&mut self) -> Result<Statement> {
        if self.eat_word("databases") {
            return Ok(Statement::ShowDatabases);
        }
        if self.eat_word("anodes") {
            let full = self.eat_word("full");
            return Ok(Statement::ShowAnodes { full });
        }
        if self.eat_word("streams") {
            return Ok(Statement::ShowStreams);
        }
        if self.eat_word("create") {
            if self.eat_word("database") {
                return Ok(Statement::ShowCreateDatabase(
                    self.ident("a database name")?,
                ));
            }
            if !self.eat_word("stable") {
                self.expect_word("table")
                    .map_err(|_| self.error("DATABASE, TABLE or STABLE"))?;
            }
            return Ok(Statement::ShowCreateTable(self.obj_name("a table name")?));
        }
        // SHOW [db.]TABLES / STABLES
        let mut db = None;
        if matches!(self.peek_at(1), Tok::Sym(".")) {
            db = Some(self.ident("a database name")?);
            self.next();
        }
        let what = if self.eat_word("tables") {
            ShowWhat::Tables
        } else if self.eat_word("stables") {
            ShowWhat::STables
        } else {
            return Err(self.error("DATABASES, TABLES or STABLES"));
        };
        let like = if self.eat_word("like") {
            match self.next().tok {
                Tok::Str(s) => Some(s),
                Tok::End => return Err(self.error("a quoted pattern")),
                _ => {
                    self.i -= 1;
                    return Err(self.error("a quoted pattern"));
                }
            }
        } else {
            None
        };
        Ok(Statement::Show { what, db, like })
    }

    fn alter(&mut self) -> Result<Statement> {
        if self.eat_word("database") {
            let name = self.ident("a database name")?;
            let options = self.db_options()?;
            return Ok(Statement::AlterDatabase { name, options });
        }
        let stable = self.eat_word("stable");
        if !stable {
            self.expect_word("table")?;
        }
        let name = self.obj_name("a table name")?;
        let action = if self.eat_word("add") {
            if self.eat_word("tag") {
                let n = self.ident("a tag name")?;
                AlterAction::AddTag(ColumnDef {
                    name: n,
                    ty: self.data_type()?,
                })
            } else {
                self.expect_word("column")?;
                let n = self.ident("a column name")?;
                AlterAction::AddColumn(ColumnDef {
                    name: n,
                    ty: self.data_type()?,
                })
            }
        } else if self.eat_word("drop") {
            if self.eat_word("tag") {
                AlterAction::DropTag(self.ident("a tag name")?)
            } else {
                self.expect_word("column")?;
                AlterAction::DropColumn(self.ident("a column name")?)
            }
        } else if self.eat_word("change") || self.eat_word("rename") {
            self.expect_word("tag")?;
            let old = self.ident("a tag name")?;
            let new = self.ident("a tag name")?;
            AlterAction::RenameTag(old, new)
        } else if self.eat_word("modify") {
            let tag = self.eat_word("tag");
            if !tag {
                self.expect_word("column")?;
            }
            let n = self.ident("a name")?;
            let def = ColumnDef {
                name: n,
                ty: self.data_type()?,
            };
            if tag {
                AlterAction::ModifyTag(def)
            } else {
                AlterAction::ModifyColumn(def)
            }
        } else if self.eat_word("set") {
            self.expect_word("tag")?;
            let n = self.ident("a tag name")?;
            self.expect_sym("=")?;
            AlterAction::SetTag(n, self.expr()?)
        } else {
            return Err(self.error("ADD, DROP, CHANGE, MODIFY or SET"));
        };
        Ok(Statement::AlterTable {
            name,
            stable,
            action,
        })
    }

    fn insert(&mut self) -> Result<Statement> {
        let mut tables = Vec::new();
        loop {
            let pos = self.pos();
            let table = self.obj_name("a table name")?;
            let mut columns = None;
            if self.eat_sym("(") {
                columns = Some(self.ident_list()?);
            }
            let using = if self.is_word("using") {
                let sub = self.sub_table(table.clone(), true)?;
                if self.eat_sym("(") {
                    if columns.is_some() {
                        return Err(self.error(
                            "VALUES (the column list goes either after the table name or after TAGS, not both)",
                        ));
                    }
                    columns = Some(self.ident_list()?);
                }
                Some(Box::new(sub))
            } else {
                None
            };
            if self.is_word("file") {
                return Err(DbError::unsupported(
                    "INSERT ... FILE names a file on the client: run it in tsdb shell (which sends the rows) or use tsdb import",
                ));
            }
            self.expect_word("values")?;
            let mut rows = Rows::default();
            while self.is_sym("(") {
                let at = self.pos();
                self.next();
                let before = rows.cells.len();
                self.value_list(&mut rows.cells)?;
                self.expect_sym(")")?;
                let width = rows.cells.len() - before;
                if before == 0 {
                    rows.width = width;
                } else if width != rows.width {
                    return Err(DbError::syntax(format!(
                        "row {} of {} has {width} values, the first row has {} (at position {at})",
                        before / rows.width + 1,
                        table.name,
                        rows.width
                    )));
                }
                self.eat_sym(",");
            }
            if rows.is_empty() {
                return Err(self.error("'(' and a row of values"));
            }
            tables.push(InsertTable {
                table,
                using,
                columns,
                rows,
                pos,
            });
            if !matches!(self.peek(), Tok::Word(_) | Tok::Quoted(_)) {
                break;
            }
        }
        Ok(Statement::Insert(tables))
    }

    /// The values of one INSERT row. A plain literal followed by `,` or `)`
    /// is taken at once; anything else (`now - 1h`) goes through `expr`.
    /// Rows are most of a large INSERT, so this path matters.
    fn value_list(&mut self, v: &mut Vec<Lit>) -> Result<()> {
        loop {
            let simple = matches!(self.peek_at(1), Tok::Sym(",") | Tok::Sym(")"));
            let lit = if simple {
                match &mut self.toks[self.i].tok {
                    Tok::Int(i) => Some(Lit::Int(*i)),
                    Tok::Float(f) => Some(Lit::Float(*f)),
                    Tok::Str(s) => Some(Lit::Str(std::mem::take(s))),
                    Tok::Word(w) if w == "null" => Some(Lit::Null),
                    Tok::Word(w) if w == "now" => Some(Lit::Now),
                    Tok::Word(w) if w == "true" => Some(Lit::Bool(true)),
                    Tok::Word(w) if w == "false" => Some(Lit::Bool(false)),
                    _ => None,
                }
            } else {
                None
            };
            match lit {
                Some(e) => {
                    self.i += 1;
                    v.push(e);
                }
                None => v.push(Lit::from_expr(self.expr()?)),
            }
            if !self.eat_sym(",") {
                return Ok(());
            }
        }
    }

    fn expr_list(&mut self) -> Result<Vec<Expr>> {
        let mut v = vec![self.expr()?];
        while self.eat_sym(",") {
            v.push(self.expr()?);
        }
        Ok(v)
    }

    fn duration(&mut self) -> Result<Duration> {
        match self.peek().clone() {
            Tok::Duration(count, unit) => {
                self.next();
                Ok(Duration { count, unit })
            }
            Tok::Str(s) => {
                // 3.x INTERVAL('1s')
                let t = tokenize(&s)?;
                match t.first().map(|t| &t.tok) {
                    Some(Tok::Duration(count, unit)) if t.len() == 2 => {
                        self.next();
                        Ok(Duration {
                            count: *count,
                            unit: *unit,
                        })
                    }
                    _ => Err(self.error("a duration such as 1m")),
                }
            }
            // bare numbers are in the database precision; 'a' marks "ticks"
            Tok::Int(count) => {
                self.next();
                Ok(Duration { count, unit: 't' })
            }
            _ => Err(self.error("a duration such as 1m")),
        }
    }

    fn select(&mut self) -> Result<Select> {
        self.expect_word("select")?;
        let mut items = Vec::new();
        loop {
            let start = self.pos();
            let expr = if self.eat_sym("*") {
                Expr::Star
            } else {
                self.expr()?
            };
            let end =
                self.toks[self.i.saturating_sub(1)].pos + self.toks[self.i.saturating_sub(1)].len;
            let text: String = self.sql[start..end]
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .to_lowercase();
            let alias = if expr == Expr::Star {
                // `*` takes no alias: a word after it is a misspelled clause
                None
            } else if self.eat_word("as") {
                Some(self.ident("an alias")?)
            } else if let Tok::Word(w) = self.peek().clone() {
                if is_clause_word(&w) {
                    None
                } else {
                    // an alias without AS followed by a name is more likely a
                    // misspelled FROM (`select v form t`): say so at the word
                    if matches!(self.peek_at(1), Tok::Word(n) if !is_clause_word(n))
                        || matches!(self.peek_at(1), Tok::Quoted(_))
                    {
                        return Err(self.error("FROM, a comma or the end of the select list"));
                    }
                    self.next();
                    Some(w)
                }
            } else if let Tok::Quoted(w) = self.peek().clone() {
                self.next();
                Some(w)
            } else {
                None
            };
            items.push(SelectItem { expr, alias, text });
            if !self.eat_sym(",") {
                break;
            }
            if items.len() == MAX_SELECT_ITEMS {
                return Err(DbError::syntax(format!(
                    "too many columns in the select list: more than {MAX_SELECT_ITEMS}"
                )));
            }
        }
        let from = if self.eat_word("from") {
            if self.is_sym("(") {
                return Err(DbError::unsupported("sub-queries are not supported yet"));
            }
            Some(self.obj_name("a table name")?)
        } else {
            None
        };
        let mut s = Select {
            items,
            from,
            ..Select::default()
        };
        if self.eat_word("where") {
            s.filter = Some(self.expr()?);
        }
        if self.eat_word("partition") {
            self.expect_word("by")?;
            s.partition_by = self.expr_list()?;
        }
        let mut window_seen = false;
        loop {
            if ["interval", "anomaly_window", "session", "state_window"]
                .iter()
                .any(|w| self.is_word(w))
            {
                if window_seen {
                    // TDengine's text
                    return Err(DbError::syntax(format!(
                        "only one type time window allowed (at position {})",
                        self.pos()
                    )));
                }
                window_seen = true;
            }
            if self.eat_word("interval") {
                self.expect_sym("(")?;
                let every = self.duration()?;
                let offset = if self.eat_sym(",") {
                    Some(self.duration()?)
                } else {
                    None
                };
                self.expect_sym(")")?;
                s.interval = Some(Interval { every, offset });
            } else if self.eat_word("sliding") {
                let paren = self.eat_sym("(");
                s.sliding = Some(self.duration()?);
                if paren {
                    self.expect_sym(")")?;
                }
            } else if self.eat_word("fill") {
                self.expect_sym("(")?;
                s.fill = Some(self.fill()?);
                self.expect_sym(")")?;
            } else if self.eat_word("anomaly_window") {
                self.expect_sym("(")?;
                // `ANOMALY_WINDOW(c1, c2, 'o')` (3.4.1) or `ANOMALY_WINDOW((c1, c2), 'o')`
                let mut columns = if self.eat_sym("(") {
                    let mut list = self.expr_list()?;
                    self.expect_sym(")")?;
                    if self.eat_sym(",") {
                        list.extend(self.expr_list()?);
                    }
                    list
                } else {
                    self.expr_list()?
                };
                self.expect_sym(")")?;
                let options = match columns.last() {
                    Some(Expr::Str(_)) if columns.len() > 1 => match columns.pop() {
                        Some(Expr::Str(o)) => Some(o),
                        _ => None,
                    },
                    _ => None,
                };
                s.anomaly = Some(AnomalyWindow { columns, options });
            } else if self.eat_word("session") {
                self.expect_sym("(")?;
                let column = self.expr()?;
                self.expect_sym(",")?;
                let gap = self.duration()?;
                self.expect_sym(")")?;
                s.row_window = Some(RowWindow::Session { column, gap });
            } else if self.eat_word("state_window") {
                self.expect_sym("(")?;
                let e = self.expr()?;
                self.expect_sym(")")?;
                s.row_window = Some(RowWindow::State(e));
            } else {
                break;
            }
        }
        if self.eat_word("group") {
            self.expect_word("by")?;
            s.group_by = self.expr_list()?;
        }
        if self.eat_word("order") {
            self.expect_word("by")?;
            loop {
                let e = self.expr()?;
                let desc = if self.eat_word("desc") {
                    true
                } else {
                    self.eat_word("asc");
                    false
                };
                s.order_by.push((e, desc));
                if !self.eat_sym(",") {
                    break;
                }
            }
        }
        for _ in 0..2 {
            if self.eat_word("slimit") {
                s.slimit = Some(self.limit_clause("soffset")?);
            } else if self.eat_word("limit") {
                s.limit = Some(self.limit_clause("offset")?);
            }
        }
        Ok(s)
    }

    fn is_sym(&self, s: &str) -> bool {
        matches!(self.peek(), Tok::Sym(x) if *x == s)
    }

    /// `n [OFFSET m]` or `m, n`; returns (limit, offset).
    fn limit_clause(&mut self, offset_word: &str) -> Result<(i64, i64)> {
        let a = self.int("a number")?;
        if self.eat_sym(",") {
            let b = self.int("a number")?;
            return Ok((b, a));
        }
        let off = if self.eat_word(offset_word) {
            self.int("a number")?
        } else {
            0
        };
        if a < 0 || off < 0 {
            return Err(DbError::invalid("LIMIT and OFFSET must not be negative"));
        }
        Ok((a, off))
    }

    fn fill(&mut self) -> Result<Fill> {
        let w = self.ident("NONE, NULL, VALUE, PREV, NEXT or LINEAR")?;
        Ok(match w.as_str() {
            "none" => Fill::None,
            "null" => Fill::Null,
            "prev" => Fill::Prev,
            "next" => Fill::Next,
            "linear" => Fill::Linear,
            "value" => {
                let mut v = Vec::new();
                while self.eat_sym(",") {
                    v.push(self.expr()?);
                }
                if v.is_empty() {
                    return Err(self.error("values after FILL(VALUE"));
                }
                Fill::Value(v)
            }
            _ => {
                self.i -= 1;
                return Err(self.error("NONE, NULL, VALUE, PREV, NEXT or LINEAR"));
            }
        })
    }

    // ---- expressions, lowest precedence first ----

    /// One more level of recursion, refused past [`MAX_EXPR_DEPTH`].
    fn enter(&mut self) -> Result<()> {
        self.nest += 1;
        if self.nest > MAX_EXPR_DEPTH {
            return Err(too_deep());
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.nest -= 1;
    }

    /// Records that the tree just built is `depth` high, refused past
    /// [`MAX_EXPR_DEPTH`].
    fn built(&mut self, depth: usize) -> Result<()> {
        if depth > MAX_EXPR_DEPTH {
            return Err(too_deep());
        }
        self.depth = depth;
        Ok(())
    }

    fn expr(&mut self) -> Result<Expr> {
        self.enter()?;
        let e = self.or_expr();
        self.leave();
        e
    }

    fn or_expr(&mut self) -> Result<Expr> {
        let mut left = self.and_expr()?;
        let mut d = self.depth;
        while self.eat_word("or") {
            let right = self.and_expr()?;
            d = d.max(self.depth) + 1;
            self.built(d)?;
            left = Expr::Binary {
                op: BinOp::Or,
                left: Box::new(left),
                right: Box::new(right),
            };
        }
        Ok(left)
    }

    fn and_expr(&mut self) -> Result<Expr> {
        let mut left = self.not_expr()?;
        let mut d = self.depth;
        while self.eat_word("and") {
            let right = self.not_expr()?;
            d = d.max(self.depth) + 1;
            self.built(d)?;
            left = Expr::Binary {
                op: BinOp::And,
                left: Box::new(left),
                right: Box::new(right),
            };
        }
        Ok(left)
    }

    fn not_expr(&mut self) -> Result<Expr> {
        if self.eat_word("not") {
            self.enter()?;
            let inner = self.not_expr();
            self.leave();
            let inner = inner?;
            self.built(self.depth + 1)?;
            return Ok(Expr::Not(Box::new(inner)));
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr> {
        let left = self.additive()?;
        let d = self.depth;
        let op = match self.peek() {
            Tok::Sym("=") => Some(BinOp::Eq),
            Tok::Sym("<>") | Tok::Sym("!=") => Some(BinOp::Ne),
            Tok::Sym("<") => Some(BinOp::Lt),
            Tok::Sym("<=") => Some(BinOp::Le),
            Tok::Sym(">") => Some(BinOp::Gt),
            Tok::Sym(">=") => Some(BinOp::Ge),
            Tok::Word(w) if w == "like" => Some(BinOp::Like),
            _ => None,
        };
        if let Some(op) = op {
            self.next();
            let right = self.additive()?;
            self.built(d.max(self.depth) + 1)?;
            return Ok(Expr::Binary {
                op,
                left: Box::new(left),
                right: Box::new(right),
            });
        }
        let negated = self.is_word("not")
            && matches!(self.peek_at(1), Tok::Word(w) if w == "between" || w == "in" || w == "like");
        if negated {
            self.next();
        }
        if self.eat_word("like") {
            let right = self.additive()?;
            self.built(d.max(self.depth) + 1)?;
            return Ok(Expr::Binary {
                op: BinOp::NotLike,
                left: Box::new(left),
                right: Box::new(right),
            });
        }
        if self.eat_word("between") {
            let low = self.additive()?;
            let dl = self.depth;
            self.expect_word("and")?;
            let high = self.additive()?;
            self.built(d.max(dl).max(self.depth) + 1)?;
            return Ok(Expr::Between {
                expr: Box::new(left),
                low: Box::new(low),
                high: Box::new(high),
                negated,
            });
        }
        if self.eat_word("in") {
            self.expect_sym("(")?;
            let (list, dl) = self.in_list()?;
            self.expect_sym(")")?;
            self.built(d.max(dl) + 1)?;
            return Ok(Expr::InList {
                expr: Box::new(left),
                set: InSet::of(&list).map(std::sync::Arc::new),
                list,
                negated,
            });
        }
        if self.eat_word("is") {
            let negated = self.eat_word("not");
            self.expect_word("null")?;
            self.built(d + 1)?;
            return Ok(Expr::IsNull {
                expr: Box::new(left),
                negated,
            });
        }
        Ok(left)
    }

    /// The items of `IN (...)`, at most [`MAX_IN_LIST`], with the height
    /// of the highest.
    fn in_list(&mut self) -> Result<(Vec<Expr>, usize)> {
        let mut list = Vec::new();
        let mut d = 0;
        loop {
            if list.len() == MAX_IN_LIST {
                return Err(DbError::syntax(format!(
                    "IN list too long: more than {MAX_IN_LIST} items"
                )));
            }
            list.push(self.expr()?);
            d = d.max(self.depth);
            if !self.eat_sym(",") {
                return Ok((list, d));
            }
        }
    }

    fn additive(&mut self) -> Result<Expr> {
        let mut left = self.multiplicative()?;
        let mut d = self.depth;
        loop {
            let op = match self.peek() {
                Tok::Sym("+") => BinOp::Add,
                Tok::Sym("-") => BinOp::Sub,
                _ => return Ok(left),
            };
            self.next();
            let right = self.multiplicative()?;
            d = d.max(self.depth) + 1;
            self.built(d)?;
            left = Expr::Binary {
                op,
                left: Box::new(left),
                right: Box::new(right),
            };
        }
    }

    fn multiplicative(&mut self) -> Result<Expr> {
        let mut left = self.unary()?;
        let mut d = self.depth;
        loop {
            let op = match self.peek() {
                Tok::Sym("*") => BinOp::Mul,
                Tok::Sym("/") => BinOp::Div,
                Tok::Sym("%") => BinOp::Mod,
                _ => return Ok(left),
            };
            self.next();
            let right = self.unary()?;
            d = d.max(self.depth) + 1;
            self.built(d)?;
            left = Expr::Binary {
                op,
                left: Box::new(left),
                right: Box::new(right),
            };
        }
    }

    fn unary(&mut self) -> Result<Expr> {
        if self.eat_sym("-") {
            self.enter()?;
            let inner = self.unary();
            self.leave();
            return Ok(match inner? {
                Expr::Int(i) => Expr::Int(i.wrapping_neg()),
                Expr::Float(f) => Expr::Float(-f),
                e => {
                    self.built(self.depth + 1)?;
                    Expr::Neg(Box::new(e))
                }
            });
        }
        if self.eat_sym("+") {
            self.enter()?;
            let inner = self.unary();
            self.leave();
            return inner;
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr> {
        let t = self.next();
        // a leaf unless a branch below says otherwise
        self.depth = 1;
        Ok(match t.tok {
            Tok::Int(i) => Expr::Int(i),
            Tok::Float(f) => Expr::Float(f),
            Tok::Str(s) => Expr::Str(s),
            Tok::Duration(count, unit) => Expr::Duration(Duration { count, unit }),
            Tok::Sym("(") => {
                let e = self.expr()?;
                self.expect_sym(")")?;
                e
            }
            Tok::Quoted(name) => Expr::Column(name),
            Tok::Word(w) => match w.as_str() {
                "null" => Expr::Null,
                "true" => Expr::Bool(true),
                "false" => Expr::Bool(false),
                "now" if !self.is_sym("(") => Expr::Now,
                _ if self.is_sym("(") => {
                    self.next();
                    let args = if self.eat_sym(")") {
                        Vec::new()
                    } else {
                        let mut args = Vec::new();
                        let mut d = 1;
                        loop {
                            if self.eat_sym("*") {
                                args.push(Expr::Star);
                            } else {
                                args.push(self.expr()?);
                                d = d.max(self.depth);
                            }
                            if !self.eat_sym(",") {
                                break;
                            }
                        }
                        self.expect_sym(")")?;
                        self.built(d + 1)?;
                        args
                    };
                    if w == "now" {
                        Expr::Now
                    } else {
                        Expr::Func { name: w, args }
                    }
                }
                _ if self.is_sym(".") && !is_clause_word(&w) => {
                    // tb.col: the table qualifier is accepted and dropped
                    self.next();
                    if self.eat_sym("*") {
                        Expr::Star
                    } else {
                        Expr::Column(self.ident("a column name")?)
                    }
                }
                _ if is_clause_word(&w) => {
                    self.i -= 1;
                    return Err(self.error("an expression"));
                }
                _ => Expr::Column(w),
            },
            Tok::End => return Err(self.error("an expression")),
            _ => {
                self.i -= 1;
                return Err(self.error("an expression"));
            }
        })
    }
}

/// Words that end a select item (so they are not taken as an alias).
fn is_clause_word(w: &str) -> bool {
    matches!(
        w,
        "from"
            | "where"
            | "interval"
            | "sliding"
            | "fill"
            | "group"
            | "order"
            | "limit"
            | "slimit"
            | "partition"
            | "anomaly_window"
            | "session"
            | "state_window"
            | "and"
            | "or"
            | "as"
            | "soffset"
            | "offset"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_statements() {
        let s = parse("create table meters (ts timestamp, current float, voltage int, phase float) tags (location binary(64), groupId int);").unwrap();
        let Statement::CreateTable {
            name,
            columns,
            tags,
            ..
        } = s
        else {
            panic!()
        };
        assert_eq!(name.name, "meters");
        assert_eq!(columns.len(), 4);
        assert_eq!(tags[0].ty, DataType::Binary(64));
        assert_eq!(tags[1].name, "groupid");

        let s = parse(r#"create table D1001 using meters tags ("Beijing.Chaoyang", 2);"#).unwrap();
        let Statement::CreateSubTables(subs) = s else {
            panic!()
        };
        assert_eq!(subs[0].name.name, "d1001");
        assert_eq!(subs[0].tag_values[0], Expr::Str("Beijing.Chaoyang".into()));

        let s = parse("insert into d1001 values ('2018-10-03 14:38:05.000', 10.3, 219, 0.31) ('2018-10-03 14:38:15.000', 12.6, 218, 0.33) d1002 (ts, current) values (now, 1)").unwrap();
        let Statement::Insert(t) = s else { panic!() };
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].rows.len(), 2);
        assert_eq!(
            t[1].columns.as_deref(),
            Some(&["ts".to_owned(), "current".to_owned()][..])
        );

        let s = parse("select avg(voltage) from meters where ts > now - 1h interval(1m) sliding(30s) fill(prev)").unwrap();
        let Statement::Select(sel) = s else { panic!() };
        assert_eq!(sel.items[0].text, "avg(voltage)");
        assert_eq!(
            sel.interval.unwrap().every,
            Duration {
                count: 1,
                unit: 'm'
            }
        );
        assert_eq!(
            sel.sliding,
            Some(Duration {
                count: 30,
                unit: 's'
            })
        );
        assert_eq!(sel.fill, Some(Fill::Prev));
    }

    #[test]
    fn syntax_errors_say_where() {
        // the error points at the misspelled word, not past it
        let e = parse("select * form meters").unwrap_err();
        assert_eq!(
            e.msg,
            "syntax error near \"form meters\" (at position 9): expected end of statement"
        );
        let e = parse("select v form meters").unwrap_err();
        assert_eq!(
            e.msg,
            "syntax error near \"form meters\" (at position 9): expected FROM, a comma or the end of the select list"
        );
        // an alias without AS still works
        assert!(parse("select v volts from meters").is_ok());
        assert!(parse("select v volts, ts from meters").is_ok());
        let e = parse("create table t (ts timestamp, v strange)").unwrap_err();
        assert_eq!(
            e.msg,
            "syntax error near \"strange)\" (at position 32): expected a data type"
        );
        let e = parse("insert into t values (1, 2) (3, 4, 5)").unwrap_err();
        assert_eq!(
            e.msg,
            "row 2 of t has 3 values, the first row has 2 (at position 28)"
        );
        let e = parse("insert into t values").unwrap_err();
        assert_eq!(
            e.msg,
            "syntax error: unexpected end of statement, expected '(' and a row of values"
        );
    }
}

//! The statements and expressions the parser produces.
//!
//! May import: `types`.

use crate::types::DataType;

/// `[db.]name`, lower-cased unless quoted.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjName {
    pub db: Option<String>,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ColumnDef {
    pub name: String,
    pub ty: DataType,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    CreateDatabase {
        name: String,
        if_not_exists: bool,
        options: Vec<(String, Expr)>,
    },
    AlterDatabase {
        name: String,
        options: Vec<(String, Expr)>,
    },
    Use(String),
    /// `FLUSH DATABASE db` (3.x): write the memtables to data files now.
    Flush(String),
    /// `COMPACT DATABASE db` (3.x): rewrite its data files without the
    /// blocks that dropped tables and merges left dead.
    Compact(String),
    DropDatabase {
        name: String,
        if_exists: bool,
    },
    ShowDatabases,
    /// `SHOW CREATE DATABASE db`.
    ShowCreateDatabase(String),
    /// `SHOW CREATE TABLE t` / `SHOW CREATE STABLE st`.
    ShowCreateTable(ObjName),
    /// A normal table, or a super table when `tags` is not empty.
    CreateTable {
        name: ObjName,
        if_not_exists: bool,
        columns: Vec<ColumnDef>,
        tags: Vec<ColumnDef>,
    },
    /// `CREATE TABLE t1 USING st TAGS (...) [t2 USING ...]`.
    CreateSubTables(Vec<SubTable>),
    Drop {
        name: ObjName,
        if_exists: bool,
        stable: bool,
    },
    Show {
        what: ShowWhat,
        db: Option<String>,
        like: Option<String>,
    },
    Describe(ObjName),
    Insert(Vec<InsertTable>),
    Select(Box<Select>),
    /// `SELECT` without FROM of server functions, e.g. `SELECT SERVER_VERSION()`.
    AlterTable {
        name: ObjName,
        stable: bool,
        action: AlterAction,
    },
    /// `CREATE ANODE 'url'`.
    CreateAnode(String),
    /// `DROP ANODE id`.
    DropAnode(i64),
    /// `UPDATE ANODE id`; `None` for `UPDATE ALL ANODES`.
    UpdateAnode(Option<i64>),
    /// `SHOW ANODES [FULL]`.
    ShowAnodes {
        full: bool,
    },
    /// `CREATE TABLE t AS SELECT ...` (2.x continuous query) or
    /// `CREATE STREAM [IF NOT EXISTS] s [options] INTO t AS SELECT ...` (3.x).
    CreateStream(Box<CreateStream>),
    /// `SHOW STREAMS`.
    ShowStreams,
    /// `KILL STREAM id` (2.x also `KILL STREAM conn:id`).
    KillStream(i64),
    /// `DROP STREAM [IF EXISTS] name` (3.x).
    DropStream {
        name: String,
        if_exists: bool,
    },
}

/// A continuous query as parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateStream {
    /// The 3.x stream name; the 2.x form is named by its table.
    pub name: Option<String>,
    pub if_not_exists: bool,
    pub target: ObjName,
    /// 3.x stream options (`WATERMARK 5s`, `FILL_HISTORY 1`, ...), keys
    /// lower-cased and joined with `_` (`ignore_expired`).
    pub options: Vec<(String, Expr)>,
    pub select: Box<Select>,
    /// The SELECT as written.
    pub sql: String,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ShowWhat {
    Tables,
    STables,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AlterAction {
    AddColumn(ColumnDef),
    DropColumn(String),
    AddTag(ColumnDef),
    DropTag(String),
    RenameTag(String, String),
    ModifyColumn(ColumnDef),
    ModifyTag(ColumnDef),
    SetTag(String, Expr),
}

#[derive(Debug, Clone, PartialEq)]
pub struct SubTable {
    pub name: ObjName,
    pub if_not_exists: bool,
    pub stable: ObjName,
    pub tag_names: Option<Vec<String>>,
    pub tag_values: Vec<Expr>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct InsertTable {
    pub table: ObjName,
    /// Boxed: most clauses of a many-device INSERT name a table that
    /// exists, and a statement's clauses lie in one vector that stays under
    /// the allocator's huge-object size (fresh pages, zeroed by the kernel,
    /// for every statement) only if each clause is small.
    pub using: Option<Box<SubTable>>,
    pub columns: Option<Vec<String>>,
    pub rows: Rows,
    /// Byte offset of the table clause, for messages.
    pub pos: usize,
}

/// One value of an INSERT row: a literal, or an expression the engine
/// works out (`now - 1h`). Smaller than an [`Expr`], and rows are most of a
/// large INSERT.
#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Now,
    Expr(Box<Expr>),
}

impl Lit {
    /// A parsed expression as a value, plain literals unboxed.
    pub fn from_expr(e: Expr) -> Lit {
        match e {
            Expr::Null => Lit::Null,
            Expr::Bool(b) => Lit::Bool(b),
            Expr::Int(i) => Lit::Int(i),
            Expr::Float(f) => Lit::Float(f),
            Expr::Str(s) => Lit::Str(s),
            Expr::Now => Lit::Now,
            e => Lit::Expr(Box::new(e)),
        }
    }

    pub fn into_expr(self) -> Expr {
        match self {
            Lit::Null => Expr::Null,
            Lit::Bool(b) => Expr::Bool(b),
            Lit::Int(i) => Expr::Int(i),
            Lit::Float(f) => Expr::Float(f),
            Lit::Str(s) => Expr::Str(s),
            Lit::Now => Expr::Now,
            Lit::Expr(e) => *e,
        }
    }
}

/// The rows of an INSERT clause, flat: `width` values per row, every row
/// as wide (the parser checks), so a row costs no allocation of its own.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Rows {
    pub width: usize,
    pub cells: Vec<Lit>,
}

impl Rows {
    pub fn new(width: usize) -> Rows {
        Rows {
            width,
            cells: Vec::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.cells.len().checked_div(self.width).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// The rows in order.
    pub fn iter(&self) -> std::slice::ChunksExact<'_, Lit> {
        self.cells.chunks_exact(self.width.max(1))
    }

    /// Appends a row; it must be `width` wide.
    pub fn push(&mut self, row: impl IntoIterator<Item = Lit>) {
        let before = self.cells.len();
        self.cells.extend(row);
        debug_assert_eq!(self.cells.len() - before, self.width);
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SelectItem {
    pub expr: Expr,
    pub alias: Option<String>,
    /// The expression's text, lower-cased: the default column name.
    pub text: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Fill {
    None,
    Null,
    Value(Vec<Expr>),
    Prev,
    Next,
    Linear,
}

/// A duration as written: count and unit letter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Duration {
    pub count: i64,
    pub unit: char,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Interval {
    pub every: Duration,
    pub offset: Option<Duration>,
}

/// `ANOMALY_WINDOW(col [, col ...] [, 'options'])`.
#[derive(Debug, Clone, PartialEq)]
pub struct AnomalyWindow {
    pub columns: Vec<Expr>,
    pub options: Option<String>,
}

/// A window cut by the rows themselves rather than by the clock.
#[derive(Debug, Clone, PartialEq)]
pub enum RowWindow {
    /// `SESSION(ts, gap)`: a gap longer than `gap` between two rows starts
    /// a new window.
    Session { column: Expr, gap: Duration },
    /// `STATE_WINDOW(expr)`: consecutive rows with the same value.
    State(Expr),
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Select {
    pub items: Vec<SelectItem>,
    pub from: Option<ObjName>,
    pub filter: Option<Expr>,
    pub partition_by: Vec<Expr>,
    pub interval: Option<Interval>,
    pub sliding: Option<Duration>,
    pub fill: Option<Fill>,
    pub anomaly: Option<AnomalyWindow>,
    pub row_window: Option<RowWindow>,
    pub group_by: Vec<Expr>,
    pub order_by: Vec<(Expr, bool)>,
    pub slimit: Option<(i64, i64)>,
    pub limit: Option<(i64, i64)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
    Like,
    NotLike,
}

/// The literal items of an `IN (...)` list as a set.
#[derive(Debug, PartialEq)]
pub enum InSet {
    Ints(std::collections::HashSet<i64>),
    Strs(std::collections::HashSet<String>),
}

impl InSet {
    /// The set of `list`, when every item is an integer, or every item a
    /// string.
    pub fn of(list: &[Expr]) -> Option<InSet> {
        if list.iter().all(|e| matches!(e, Expr::Int(_))) {
            return Some(InSet::Ints(
                list.iter()
                    .filter_map(|e| match e {
                        Expr::Int(i) => Some(*i),
                        _ => None,
                    })
                    .collect(),
            ));
        }
        if list.iter().all(|e| matches!(e, Expr::Str(_))) {
            return Some(InSet::Strs(
                list.iter()
                    .filter_map(|e| match e {
                        Expr::Str(s) => Some(s.clone()),
                        _ => None,
                    })
                    .collect(),
            ));
        }
        None
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Duration(Duration),
    /// `now`, `now()`.
    Now,
    /// A column, tag, `tbname` or pseudo column (`_wstart`, `_c0`, ...).
    Column(String),
    /// `*` (in `count(*)`, `select *`, `last_row(*)`).
    Star,
    Func {
        name: String,
        args: Vec<Expr>,
    },
    Neg(Box<Expr>),
    Not(Box<Expr>),
    Binary {
        op: BinOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    Between {
        expr: Box<Expr>,
        low: Box<Expr>,
        high: Box<Expr>,
        negated: bool,
    },
    InList {
        expr: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
        /// The list as a set, when every item is an integer or every item
        /// a string literal (the parser builds it): membership costs one
        /// hash probe per row instead of a pass over the list.
        set: Option<std::sync::Arc<InSet>>,
    },
    IsNull {
        expr: Box<Expr>,
        negated: bool,
    },
}

impl Expr {
    /// Visits this expression and every sub-expression, mutably.
    pub fn walk_mut(&mut self, f: &mut impl FnMut(&mut Expr)) {
        f(self);
        match self {
            Expr::Func { args, .. } => args.iter_mut().for_each(|a| a.walk_mut(f)),
            Expr::Neg(e) | Expr::Not(e) => e.walk_mut(f),
            Expr::Binary { left, right, .. } => {
                left.walk_mut(f);
                right.walk_mut(f);
            }
            Expr::Between {
                expr, low, high, ..
            } => {
                expr.walk_mut(f);
                low.walk_mut(f);
                high.walk_mut(f);
            }
            Expr::InList { expr, list, .. } => {
                expr.walk_mut(f);
                list.iter_mut().for_each(|a| a.walk_mut(f));
            }
            Expr::IsNull { expr, .. } => expr.walk_mut(f),
            _ => {}
        }
    }

    /// Visits this expression and every sub-expression.
    pub fn walk(&self, f: &mut impl FnMut(&Expr)) {
        f(self);
        match self {
            Expr::Func { args, .. } => args.iter().for_each(|a| a.walk(f)),
            Expr::Neg(e) | Expr::Not(e) => e.walk(f),
            Expr::Binary { left, right, .. } => {
                left.walk(f);
                right.walk(f);
            }
            Expr::Between {
                expr, low, high, ..
            } => {
                expr.walk(f);
                low.walk(f);
                high.walk(f);
            }
            Expr::InList { expr, list, .. } => {
                expr.walk(f);
                list.iter().for_each(|a| a.walk(f));
            }
            Expr::IsNull { expr, .. } => expr.walk(f),
            _ => {}
        }
    }
}

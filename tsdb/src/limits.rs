//! Every bound the server puts on one statement, in one place.
//!
//! A statement comes from any logged-in client, so nothing it says may cost
//! unbounded stack, memory or time. The fixed bounds here protect the
//! process itself (stack depth); the configurable ones are budgets that an
//! operator may raise (`[limits]` in `etc/tsdb.ini`, defaults in
//! [`crate::config::Config`]). Every refusal names its limit, and for the
//! configurable ones the key that raises it.
//!
//! May import: `error` and `types` only (every layer above uses it).

use crate::error::{DbError, code};

/// Deepest expression tree (and parenthesis or function nesting) a
/// statement may hold. The parser and every evaluator recurse on the tree,
/// on threads with 2 MiB stacks (tokio's blocking pool, the thread default);
/// 128 levels cost well under a quarter of that in a debug build (the
/// hostile-input suite checks the limit itself on such a thread). SQLite's
/// `SQLITE_MAX_EXPR_DEPTH` is 1000 on an 8 MiB stack.
pub const MAX_EXPR_DEPTH: usize = 128;

/// Most items in one select list: TDengine 3.x's `TSDB_MAX_COLUMNS`.
pub const MAX_SELECT_ITEMS: usize = 4096;

/// Longest string literal: four times the widest BINARY column
/// (`types::MAX_BINARY_LEN`), the widest NCHAR value in bytes. Nothing
/// longer can be stored or match a stored value.
pub const MAX_LITERAL_BYTES: usize = 4 * crate::types::MAX_BINARY_LEN as usize;

/// Most tokens in one statement: a token costs ~48 bytes before the
/// parse tree, so this bounds the parser's memory near 200 MB however
/// long `max-sql-bytes` lets a statement be. Batch INSERTs of plain
/// literals do not tokenize (`sql::values`); other statements this long
/// are better split.
pub const MAX_TOKENS: usize = 4 << 20;

/// Most items in one `IN (...)` list. The list is matched through a hash
/// set, so this bounds memory, not time per row.
pub const MAX_IN_LIST: usize = 65_536;

/// Default of `[limits] max-sql-bytes`: the largest statement text. TDengine
/// 3.x allows 1 MB (`maxSQLLength`, up to 64 MB); we allow the upper end by
/// default because batch INSERTs are how fast ingest arrives.
pub const DEFAULT_MAX_SQL_BYTES: usize = 64 << 20;

/// Default of `[limits] max-result-rows`: rows one SELECT may answer.
pub const DEFAULT_MAX_RESULT_ROWS: usize = 5_000_000;

/// Default of `[limits] max-query-mb`: memory one statement may hold in
/// rows it scanned and rows it answers, approximately (values as the
/// server holds them). With the REST body (about a third of the answer)
/// it stays well under the 1.5 GB a single request may cost.
pub const DEFAULT_MAX_QUERY_MB: usize = 512;

/// Default of `[limits] query-timeout`: seconds one statement may run.
pub const DEFAULT_QUERY_TIMEOUT_SECS: u64 = 600;

/// The refusal when an expression nests deeper than [`MAX_EXPR_DEPTH`].
pub fn too_deep() -> DbError {
    DbError::new(
        code::SYNTAX_ERROR,
        format!("expression is nested too deeply: more than {MAX_EXPR_DEPTH} levels"),
    )
}

/// The refusal of a statement longer than `limit` bytes.
pub fn sql_too_long(limit: usize) -> DbError {
    DbError::new(
        code::SQL_TOO_LONG,
        format!("SQL statement too long: more than {limit} bytes ([limits] max-sql-bytes)"),
    )
}

/// Bytes a statement must have held before the allocator is asked to
/// give freed memory back ([`release_memory`]).
pub const RELEASE_AFTER_BYTES: usize = 64 << 20;

/// The budgets of one statement as configured (`[limits]`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budgets {
    pub max_result_rows: usize,
    pub max_query_bytes: usize,
    pub timeout: Option<std::time::Duration>,
}

impl Default for Budgets {
    fn default() -> Self {
        Budgets {
            max_result_rows: DEFAULT_MAX_RESULT_ROWS,
            max_query_bytes: DEFAULT_MAX_QUERY_MB << 20,
            timeout: Some(std::time::Duration::from_secs(DEFAULT_QUERY_TIMEOUT_SECS)),
        }
    }
}

/// Why a statement is asked to stop early; set from another thread (the
/// REST handler whose client left, the server's shutdown).
#[derive(Debug, Clone, Default)]
pub struct Cancel(std::sync::Arc<std::sync::atomic::AtomicU8>);

impl Cancel {
    const CLIENT_LEFT: u8 = 1;
    const SHUTDOWN: u8 = 2;

    /// The client went away: nobody will read the answer.
    pub fn client_left(&self) {
        self.0
            .compare_exchange(
                0,
                Self::CLIENT_LEFT,
                std::sync::atomic::Ordering::Relaxed,
                std::sync::atomic::Ordering::Relaxed,
            )
            .ok();
    }

    /// The server is stopping.
    pub fn shutdown(&self) {
        self.0
            .store(Self::SHUTDOWN, std::sync::atomic::Ordering::Relaxed);
    }

    fn reason(&self) -> Option<&'static str> {
        match self.0.load(std::sync::atomic::Ordering::Relaxed) {
            0 => None,
            Self::CLIENT_LEFT => Some("the client disconnected"),
            _ => Some("the server is shutting down"),
        }
    }
}

/// The running account of one statement, installed on the thread that
/// executes it ([`with_budget`]); the query code charges it through the
/// free functions below, which do nothing on a thread without one (the
/// stream scheduler's own queries, the library's tests).
struct Account {
    budgets: Budgets,
    /// The request's own and the server's.
    cancel: Vec<Cancel>,
    deadline: Option<std::time::Instant>,
    rows: std::cell::Cell<usize>,
    bytes: std::cell::Cell<usize>,
    ticks: std::cell::Cell<u32>,
}

thread_local! {
    static ACCOUNT: std::cell::RefCell<Option<Box<Account>>> =
        const { std::cell::RefCell::new(None) };
}

/// Runs `f` (one statement) under `budgets`, stopping early when any of
/// `cancel` is set.
pub fn with_budget<T>(budgets: Budgets, cancel: Vec<Cancel>, f: impl FnOnce() -> T) -> T {
    let account = Account {
        budgets,
        cancel,
        deadline: budgets.timeout.map(|t| std::time::Instant::now() + t),
        rows: 0.into(),
        bytes: 0.into(),
        ticks: 0.into(),
    };
    let previous = ACCOUNT.with(|a| a.replace(Some(Box::new(account))));
    struct Restore(Option<Box<Account>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            ACCOUNT.with(|a| *a.borrow_mut() = previous);
        }
    }
    let _restore = Restore(previous);
    f()
}

/// `f` of the thread's account, if it has one.
fn with_current<R>(f: impl FnOnce(&Account) -> R) -> Option<R> {
    ACCOUNT.with(|a| a.borrow().as_deref().map(f))
}

/// Rows between two looks at the clock and the cancel flag.
const TICKS_PER_CHECK: u32 = 4096;

impl Account {
    fn check(&self) -> crate::error::Result<()> {
        if let Some(why) = self.cancel.iter().find_map(Cancel::reason) {
            return Err(DbError::new(
                code::QUERY_KILLED,
                format!("statement stopped: {why}"),
            ));
        }
        if self
            .deadline
            .is_some_and(|d| std::time::Instant::now() >= d)
        {
            let secs = self.budgets.timeout.map_or(0, |t| t.as_secs());
            return Err(DbError::new(
                code::QUERY_KILLED,
                format!("statement stopped: it ran longer than {secs} s ([limits] query-timeout)"),
            ));
        }
        Ok(())
    }

    fn check_sometimes(&self) -> crate::error::Result<()> {
        let t = self.ticks.get().wrapping_add(1);
        self.ticks.set(t);
        if t % TICKS_PER_CHECK == 0 {
            self.check()?;
        }
        Ok(())
    }

    fn charge_bytes(&self, bytes: usize) -> crate::error::Result<()> {
        let total = self.bytes.get().saturating_add(bytes);
        self.bytes.set(total);
        if total > self.budgets.max_query_bytes {
            return Err(DbError::new(
                code::QUERY_BUFFER_LIMIT,
                format!(
                    "Query buffer limit has reached: the statement needs more than {} MB ([limits] max-query-mb); narrow the time range or add LIMIT",
                    self.budgets.max_query_bytes >> 20
                ),
            ));
        }
        self.check_sometimes()
    }

    fn charge_row(&self, width: usize) -> crate::error::Result<()> {
        let rows = self.rows.get() + 1;
        self.rows.set(rows);
        if rows > self.budgets.max_result_rows {
            return Err(DbError::new(
                code::QUERY_BUFFER_LIMIT,
                format!(
                    "Query buffer limit has reached: the answer has more than {} rows ([limits] max-result-rows); narrow the time range or add LIMIT",
                    self.budgets.max_result_rows
                ),
            ));
        }
        self.charge_bytes(row_bytes(width))
    }
}

/// One unit of work (a row looked at): every 4,096 of them
/// the statement stops if cancelled or past its deadline.
pub fn tick() -> crate::error::Result<()> {
    with_current(Account::check_sometimes).unwrap_or(Ok(()))
}

/// Checks cancellation and the deadline now (between blocks, tables).
pub fn check() -> crate::error::Result<()> {
    with_current(Account::check).unwrap_or(Ok(()))
}

/// `bytes` more held by the statement (rows scanned, rows answered).
pub fn charge_bytes(bytes: usize) -> crate::error::Result<()> {
    with_current(|a| a.charge_bytes(bytes)).unwrap_or(Ok(()))
}

/// One more answer row of `width` values.
pub fn charge_row(width: usize) -> crate::error::Result<()> {
    with_current(|a| a.charge_row(width)).unwrap_or(Ok(()))
}

/// Bytes a row of `width` values costs held in memory (the value cells
/// and the row's vector), before any string's own bytes.
pub fn row_bytes(width: usize) -> usize {
    width * std::mem::size_of::<crate::types::Value>() + std::mem::size_of::<Vec<u8>>()
}

/// The statement's row budget, when it runs under one.
pub fn max_result_rows() -> Option<usize> {
    with_current(|a| a.budgets.max_result_rows)
}

/// Runs one statement under `budgets` and `cancel`, then gives the memory
/// a big statement freed back to the system.
pub fn run_statement<T>(budgets: Budgets, cancel: Vec<Cancel>, f: impl FnOnce() -> T) -> T {
    let mut held = 0;
    let out = with_budget(budgets, cancel, || {
        let out = f();
        held = with_current(|a| a.bytes.get()).unwrap_or(0);
        out
    });
    if held >= RELEASE_AFTER_BYTES {
        release_memory();
    }
    out
}

/// Asks glibc to return the free pages of every arena to the system. A
/// query that held a gigabyte frees it into its thread's arena, where it
/// stays resident until trimmed; glibc trims only the top of the main
/// heap by itself. (The `tsdb` binary allocates with mimalloc, which
/// returns freed pages by itself after a short delay; this still serves
/// the library under glibc, as in the tests.)
#[allow(unsafe_code)]
pub fn release_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes no pointers and may be called at any time
    // from any thread; it only walks the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}

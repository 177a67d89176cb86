//! SESSION and STATE_WINDOW: windows cut by the rows themselves.
//!
//! A group's rows, in time order (one table's, or a super table's merged
//! into one timeline unless grouped, as 3.x does; 2.x allowed these windows
//! on tables only), are cut into runs:
//!
//! - `SESSION(ts, gap)`: a new window starts where two neighbouring rows are
//!   more than `gap` apart; rows exactly `gap` apart stay together.
//! - `STATE_WINDOW(expr)`: a window is a run of rows whose `expr` has one
//!   value. A row whose value is NULL neither ends nor starts a run: inside
//!   a run it belongs to it (A, NULL, A is one window of three rows), and
//!   between runs of different values, or before the first value, it
//!   belongs to no window. (TDengine 3.x skipped NULL rows in the state
//!   comparison too; which window they counted in changed between
//!   releases, so we say it here.)
//!
//! A window's `_wstart` and `_wend` are its first and last row's
//! timestamps, so `_wduration` is the time between them (0 for one row).
//!
//! May import: `error`, `sql`, `types`, its parent's `eval`, `has_aggregate`,
//! `time`, `type_of`.

use std::ops::Range;

use super::{Ctx, Ref, Row, Schema, eval, time, type_of};
use crate::error::{Result, code};
use crate::fail;
use crate::sql::ast::{Expr, RowWindow};
use crate::types::{DataType, Value};

/// A checked SESSION / STATE_WINDOW clause, ready to cut rows.
pub(crate) enum Cut<'s> {
    /// The largest gap, in ticks, inside one session.
    Session(i64),
    State(&'s Expr),
}

impl<'s> Cut<'s> {
    /// Checks the clause against the table's schema.
    pub(crate) fn new(rw: &'s RowWindow, schema: &Schema<'_>) -> Result<Cut<'s>> {
        match rw {
            RowWindow::Session { column, gap } => {
                let ts = &schema.columns[0].name;
                if !matches!(column, Expr::Column(n) if schema.lookup(n) == Some(Ref::Ts)) {
                    fail!(
                        code::INVALID_VALUE,
                        "the first argument of SESSION must be the timestamp column {ts}"
                    );
                }
                let gap = time::duration_ticks(*gap, schema.precision)?;
                if gap <= 0 {
                    fail!(code::INVALID_VALUE, "the SESSION gap must be positive");
                }
                Ok(Cut::Session(gap))
            }
            RowWindow::State(e) => {
                let ty = type_of(e, schema)?;
                let fits = ty == DataType::Bool || ty.is_integer() || ty.is_string();
                if !fits || super::has_aggregate(e) {
                    fail!(
                        code::INVALID_VALUE,
                        "STATE_WINDOW takes an integer, BOOL, BINARY or NCHAR column or expression, not {}",
                        if fits { "an aggregate" } else { ty.name() }
                    );
                }
                Ok(Cut::State(e))
            }
        }
    }

    /// The windows of `rows` (one group, in time order) as index ranges.
    pub(crate) fn windows(
        &self,
        rows: &[Row<'_>],
        base: &Ctx<'_, '_>,
    ) -> Result<Vec<Range<usize>>> {
        let mut out = Vec::new();
        match self {
            Cut::Session(gap) => {
                let mut from = 0;
                for i in 1..rows.len() {
                    if rows[i].ts - rows[i - 1].ts > *gap {
                        out.push(from..i);
                        from = i;
                    }
                }
                if !rows.is_empty() {
                    out.push(from..rows.len());
                }
            }
            Cut::State(e) => {
                // the open run: its value, first and last row with it
                let mut run: Option<(Value, usize, usize)> = None;
                for (i, r) in rows.iter().enumerate() {
                    let one = [*r];
                    let v = eval(e, &base.over(&one, None))?;
                    if v.is_null() {
                        continue;
                    }
                    match &mut run {
                        Some((state, _, last)) if *state == v => *last = i,
                        _ => {
                            if let Some((_, a, b)) = run.take() {
                                out.push(a..b + 1);
                            }
                            run = Some((v, i, i));
                        }
                    }
                }
                if let Some((_, a, b)) = run {
                    out.push(a..b + 1);
                }
            }
        }
        Ok(out)
    }
}

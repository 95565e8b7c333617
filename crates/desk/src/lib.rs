//! The help desk, pure: the rules of customers, tickets and promises, as commands in and
//! events out, with `now` passed in. Built so far: the business-hours calendar
//! ([`calendar`]: open slots per weekday in an IANA zone, holidays, time counted only while
//! open, due times in working days) and the SLA clock over it ([`sla`]: elapsed and
//! remaining business time, deadline and warning instants, pauses, reopen), and the
//! ticket lifecycle ([`ticket`]: `decide` a command into events, `apply` them; four
//! no-misses, the complaint workflow, escalation, the SLA clocks' history), SLA policies
//! matched by kind, priority, tier and channel ([`sla_policy`]: first match wins), and the
//! deadline scheduler's core ([`deadlines`]: warning and breach marks in a priority queue,
//! planned from a clock's status, rebuilt from the open tickets after a restart).
//!
//! It must not know about I/O of any kind: it reads no clock (every function takes the
//! instant), opens no file or socket, and knows nothing of HTTP, SQL, Redis, async runtimes
//! or configuration files. Callers (the application layer) load the data, pass `now` and
//! store what comes out. Depends only on `switchboard-domain` among the workspace crates.

pub mod calendar;
pub mod deadlines;
pub mod sla;
pub mod sla_policy;
pub mod ticket;

pub use calendar::{BusinessCalendar, CalendarError, Slot, MAX_WALK_DAYS, NEVER_OPEN_DAYS};
pub use deadlines::{plan_clock, plan_ticket, DeadlineKey, Deadlines, Mark, PlanError, Raised};
pub use sla::{ClockChange, ClockState, SlaClock, SlaStatus};
pub use sla_policy::{
    policy_for, CalendarId, ClockKind, Conditions, PolicyId, SlaPolicies, SlaPolicy, SlaPolicySpec,
    TicketFacts,
};

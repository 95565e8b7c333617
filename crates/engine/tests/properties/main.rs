//! Property tests of the routing engine: random sequences of commands and clock steps drive an
//! `Engine` directly (due timers fired before every command, as the backends do), and after
//! every step a small model, fed only by the events the engine emitted, checks the ACD's rules
//! and that the engine's own views agree with it.
//!
//! The rules, numbered as in failure messages:
//! 1. no double assignment: a contact is offered only while it waits, and is held by one agent
//!    at most (wrap-up work left behind by a transfer aside);
//! 2. capacity: every offer fits the agent's room (`has_room` in engine/state.rs: voice and
//!    callback take the agent whole, other channels up to their capacity);
//! 3. skills: every offer not addressed to a named agent meets the queue's and the contact's
//!    skills, lowered by the expansion step for the time waited in the current queue;
//! 4. complete matching: after every step no waiting contact has a ready agent able to take it;
//! 5. priority then FIFO: no contact that waited through a step, and was not offered after,
//!    ranks better than one offered during it to an agent that could have taken either; and
//!    each queue's line (`position`) is in priority-then-arrival order;
//! 6. never lost: the engine knows every contact that has had no terminal event, and only
//!    those; draining at the end leaves only contacts that nobody can take;
//! 7. determinism: replaying the same calls on a fresh engine gives the same outcomes;
//! 8. event ids are gap-free and increasing, event times never go backwards.
//!
//! Also checked: a refused command changes nothing observable, maximum waits are honoured,
//! and contact states, agent statuses and agent slots match the model.
//!
//! The `regression_*` tests are engine bugs these properties found, each reduced to a few
//! commands; they fail until the engine is fixed.
//!
//! Layout:
//! - `strategies` — the random setup (three queues, six agents) and operations, with their
//!   generators, and the names and values the whole suite shares;
//! - `model` — the model fed by the engine's events: its state and the rules' predicates;
//!   `model/events.rs` checks each event as it arrives (rules 1 to 4 at an offer, 8 on every
//!   event), `model/checks.rs` rules 1, 2, 4, 5 and 6 and the engine's views at the end of
//!   every step;
//! - `driver` — a run: the engine and the model stepped together, refused commands, draining
//!   and replaying (rule 7);
//! - `random_traffic` — the property itself and the check that its generator is not vacuous;
//! - `regressions` — the engine bugs it found: `regressions/priority.rs` (rule 5),
//!   `regressions/holders.rs` (who holds a contact: rule 6, transfers to a named agent).

/// `ensure!`-style early return with a message, for the oracle's `Result<(), String>`.
macro_rules! check {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

mod driver;
mod model;
mod random_traffic;
mod regressions;
mod strategies;

//! Outbound webhooks to the PBX (we-route mode): when the ACD offers a call to an agent, the
//! PBX must ring that agent's extension (`call.ring`); when the agent accepts on the console,
//! connect it (`call.connect`); when the offer ends unanswered, stop ringing (`call.cancel`).
//! A callback ([`for_callback`]) rings nothing while offered; when the agent accepts it the
//! PBX is told to dial (`call.dial`, with `number` and `due`): call the agent and the
//! customer's number and connect them. Only for a callback that was a call of this PBX: one
//! with no PBX call behind it is dialled by the agent (the console's offer shows the number).
//!
//! Two tasks per instance, both over the delivery outbox in the database:
//! - the **planner** ([`plan`]) follows the dispatcher's events and turns offers of PBX calls
//!   (of an integration with a `callback_url`) into deliveries. A delivery's id is derived
//!   from the dispatcher event, which is identical on every instance, so with many instances
//!   the first to insert it wins and the others' inserts change nothing;
//! - the **deliverer** ([`deliver`]) claims due deliveries with a lease (so one instance sends
//!   each), hands them to a [`Sender`] (the edge's signed HTTP client), and retries failures
//!   with exponential backoff (0.5 s, 1 s, 2 s, 4 s, 8 s). Every attempt's outcome is stored
//!   ([`App::webhook_deliveries`]) and reported to an observer (the metrics); giving up is
//!   logged as an error.
//!
//! This module decides what to send and when; how a POST is made and signed is the edge's
//! (`Sender`).

mod outbox;
mod planner;

use std::time::Duration;

use switchboard_domain::{AgentId, ContactId, Event, EventKind, QueueId, Timestamp};
use switchboard_protocol::pbx::CancelReason;

pub use outbox::{deliver, Delivery, Observe, SendFailure, Sender, WebhookDelivery, MAX_ATTEMPTS};
pub use planner::plan;

const FIRST_RETRY: Duration = Duration::from_millis(500);

/// What the PBX is told about one offer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instruction {
    pub step: Step,
    pub contact: ContactId,
    pub queue: QueueId,
    pub agent: AgentId,
}

/// `call.ring` (until `deadline`), `call.connect`, `call.cancel` (with why) or, for a
/// callback, `call.dial` (the number and the time promised).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Ring { deadline: Timestamp },
    Connect,
    Cancel { reason: CancelReason },
    Dial(Dial),
}

/// A callback owed: the number to dial, the time promised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dial {
    pub number: String,
    pub due: Option<Timestamp>,
}

/// What the PBX is told about an offer of a callback (the caller hung up; nobody is on the
/// line): nothing while it is offered, rejected, missed or withdrawn — the agent's console
/// shows the offer with the number, and nothing rings —, and `call.dial` when the agent
/// accepts: the PBX calls the agent and the customer's number and connects them.
pub fn for_callback(i: Instruction, dial: &Dial) -> Option<Instruction> {
    matches!(i.step, Step::Connect).then(|| Instruction {
        step: Step::Dial(dial.clone()),
        ..i
    })
}

/// The instruction a dispatcher event stands for, if any. An offer withdrawn because the
/// caller hung up needs none: the PBX knows, it told us.
pub fn instruction(e: &Event) -> Option<Instruction> {
    let make = |step, contact: &ContactId, queue: &QueueId, agent: &AgentId| Instruction {
        step,
        contact: *contact,
        queue: queue.clone(),
        agent: agent.clone(),
    };
    match &e.kind {
        EventKind::ContactOffered {
            contact,
            queue,
            agent,
            deadline,
        } => Some(make(
            Step::Ring {
                deadline: *deadline,
            },
            contact,
            queue,
            agent,
        )),
        EventKind::OfferAccepted {
            contact,
            queue,
            agent,
            ..
        } => Some(make(Step::Connect, contact, queue, agent)),
        EventKind::OfferRejected {
            contact,
            queue,
            agent,
        } => Some(make(
            Step::Cancel {
                reason: CancelReason::Rejected,
            },
            contact,
            queue,
            agent,
        )),
        EventKind::OfferTimedOut {
            contact,
            queue,
            agent,
        } => Some(make(
            Step::Cancel {
                reason: CancelReason::TimedOut,
            },
            contact,
            queue,
            agent,
        )),
        EventKind::OfferWithdrawn {
            contact,
            queue,
            agent,
            reason,
        } => {
            let reason = CancelReason::of_withdrawal(*reason)?;
            Some(make(Step::Cancel { reason }, contact, queue, agent))
        }
        _ => None,
    }
}

/// Backoff before retry number `attempts` (1 = after the first failure).
pub fn backoff(attempts: i64) -> Duration {
    FIRST_RETRY * 2u32.pow(attempts.clamp(1, 10) as u32 - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_callback_rings_nothing_and_is_dialled_on_accept() {
        let contact: ContactId = "0190f0c4-0000-7000-8000-000000000001".parse().unwrap();
        let base = Instruction {
            step: Step::Ring {
                deadline: Timestamp::from_millis(5),
            },
            contact,
            queue: QueueId::parse("sales").unwrap(),
            agent: AgentId::parse("ann").unwrap(),
        };
        let dial = Dial {
            number: "+15550100".into(),
            due: Some(Timestamp::from_millis(9)),
        };
        let cancel = Step::Cancel {
            reason: CancelReason::TimedOut,
        };
        for step in [base.step.clone(), cancel] {
            let i = Instruction {
                step: step.clone(),
                ..base.clone()
            };
            assert_eq!(for_callback(i, &dial), None, "{step:?}");
        }
        let connect = Instruction {
            step: Step::Connect,
            ..base
        };
        let out = for_callback(connect.clone(), &dial).expect("a dial");
        assert_eq!(out.step, Step::Dial(dial));
        assert_eq!((out.contact, out.agent), (connect.contact, connect.agent));
    }

    #[test]
    fn backoff_doubles_from_half_a_second() {
        let waits: Vec<u128> = (1..=5).map(|n| backoff(n).as_millis()).collect();
        assert_eq!(waits, [500, 1000, 2000, 4000, 8000]);
    }
}

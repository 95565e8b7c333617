//! The complaint workflow (the domain notes' LEARN model): accept → listen → apologise →
//! clarify → agree a solution → act → follow up → thank → root cause.
//!
//! Accepting is the creation of the ticket. The steps are recorded (who, when, a note) and
//! only the ones the outcome depends on are enforced:
//! - acting needs an agreed solution; agreeing a new solution asks for a new act;
//! - a complaint is resolved only after the solution was agreed and acted on;
//! - following up needs the act done;
//! - a complaint closes only with a [`RootCause`] captured (for the statistics by cause).
//!
//! Listening, apologising, clarifying and thanking are recorded for quality review but not
//! forced in order: a conversation does not run by the book, and a rule the agent would
//! satisfy with empty clicks measures nothing.
//!
//! A reopened complaint's solution evidently did not hold: the reopen clears the agreed
//! solution and the act (the trail keeps them), so a new one is agreed and acted on.

use serde::{Deserialize, Serialize};
use switchboard_domain::Timestamp;

use super::Actor;

/// A step of the workflow the agent records (acceptance is the creation itself).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ComplaintStep {
    Listen,
    Apologise,
    Clarify,
    /// The solution the customer agreed to (the note is the solution, required).
    AgreeSolution,
    /// The solution was carried out (the note says what was done, required).
    Act,
    FollowUp,
    Thank,
}

impl ComplaintStep {
    pub const ALL: [ComplaintStep; 7] = [
        ComplaintStep::Listen,
        ComplaintStep::Apologise,
        ComplaintStep::Clarify,
        ComplaintStep::AgreeSolution,
        ComplaintStep::Act,
        ComplaintStep::FollowUp,
        ComplaintStep::Thank,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ComplaintStep::Listen => "listen",
            ComplaintStep::Apologise => "apologise",
            ComplaintStep::Clarify => "clarify",
            ComplaintStep::AgreeSolution => "agree_solution",
            ComplaintStep::Act => "act",
            ComplaintStep::FollowUp => "follow_up",
            ComplaintStep::Thank => "thank",
        }
    }

    /// Steps whose note is the substance (the solution, what was done).
    pub fn needs_note(self) -> bool {
        matches!(self, ComplaintStep::AgreeSolution | ComplaintStep::Act)
    }

    /// Follow-up and thanks come after the resolution too; the others only while the work
    /// is active.
    pub fn allowed_after_resolution(self) -> bool {
        matches!(self, ComplaintStep::FollowUp | ComplaintStep::Thank)
    }
}

impl std::fmt::Display for ComplaintStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why the complaint happened: a fixed set, so that the statistics by cause compare across
/// centers and over time without a configuration join. `Other` needs the detail in the
/// note. A center that needs finer causes puts them in the note or a custom field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RootCause {
    /// The product itself (defect, quality, design).
    Product,
    /// How we served the customer (attitude, wrong information, broken promise).
    Service,
    /// A rule or process (policy, terms, paperwork).
    Process,
    /// Delivery, installation or repair logistics.
    Delivery,
    /// Prices, invoices, refunds.
    Billing,
    /// Our systems (outage, bug in the site or app).
    Technical,
    /// A partner or supplier.
    ThirdParty,
    /// A misunderstanding on the customer's side (expectation, usage).
    CustomerMisunderstanding,
    Other,
}

/// One recorded step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRecord {
    pub step: ComplaintStep,
    pub at: Timestamp,
    pub by: Actor,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A complaint's progress through the workflow.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Complaint {
    /// Every step recorded, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<StepRecord>,
    /// The solution currently agreed with the customer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub solution: Option<String>,
    /// The current solution has been acted on.
    #[serde(default)]
    pub acted: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_cause: Option<RootCause>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_cause_note: Option<String>,
    /// To be fed back to the product owner (the fourth no-miss).
    #[serde(default)]
    pub feed_back: bool,
}

impl Complaint {
    /// Whether `step` has been recorded since the last reopen.
    pub fn has(&self, step: ComplaintStep) -> bool {
        match step {
            ComplaintStep::AgreeSolution => self.solution.is_some(),
            ComplaintStep::Act => self.acted,
            other => self.steps.iter().any(|s| s.step == other),
        }
    }
}

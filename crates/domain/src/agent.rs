use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{AgentId, Channel, ReasonCode, SkillLevel, SkillName, Timestamp, ValidationError};

/// How many contacts of each channel an agent may handle at once. Voice (and callbacks, which
/// share the voice line) is 0 or 1; the text channels may take several.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct Capacity {
    pub voice: u8,
    pub chat: u8,
    pub email: u8,
    pub ticket: u8,
}

impl Default for Capacity {
    /// One call, three chats, five e-mails, five tickets.
    fn default() -> Self {
        Self {
            voice: 1,
            chat: 3,
            email: 5,
            ticket: 5,
        }
    }
}

impl Capacity {
    pub const MAX_PER_CHANNEL: u8 = 50;

    pub fn of(&self, channel: Channel) -> u8 {
        match channel {
            Channel::Voice | Channel::Callback => self.voice,
            Channel::Chat => self.chat,
            Channel::Email => self.email,
            Channel::Ticket => self.ticket,
        }
    }

    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.voice > 1 {
            return Err(ValidationError::new("capacity.voice", "must be 0 or 1"));
        }
        for (field, v) in [
            ("capacity.chat", self.chat),
            ("capacity.email", self.email),
            ("capacity.ticket", self.ticket),
        ] {
            if v > Self::MAX_PER_CHANNEL {
                return Err(ValidationError::new(
                    field,
                    format!("must be at most {}", Self::MAX_PER_CHANNEL),
                ));
            }
        }
        Ok(())
    }
}

/// What the dispatcher needs to know about an agent to route to them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentProfile {
    pub id: AgentId,
    /// Skills with levels. An agent serves every queue whose required skills it holds (at any
    /// level; the level decides *when*, through skill expansion).
    #[serde(default)]
    pub skills: BTreeMap<SkillName, SkillLevel>,
    #[serde(default)]
    pub capacity: Capacity,
}

impl AgentProfile {
    pub fn new(id: AgentId) -> Self {
        Self {
            id,
            skills: BTreeMap::new(),
            capacity: Capacity::default(),
        }
    }

    pub fn with_skill(mut self, skill: SkillName, level: SkillLevel) -> Self {
        self.skills.insert(skill, level);
        self
    }

    pub fn with_capacity(mut self, capacity: Capacity) -> Self {
        self.capacity = capacity;
        self
    }

    pub fn validate(&self) -> Result<(), ValidationError> {
        self.capacity.validate()
    }
}

/// What the agent said about themselves (or a supervisor, or the dispatcher after missed
/// offers, said for them).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "presence", rename_all = "snake_case")]
pub enum Presence {
    Offline,
    Available,
    Away { reason: ReasonCode },
}

impl Presence {
    pub fn is_logged_in(&self) -> bool {
        !matches!(self, Presence::Offline)
    }
}

/// The agent's state as a supervisor sees it, derived from presence and the work in hand.
/// Work wins over presence: an agent who chose "away" while on a call shows `busy` until the
/// call ends (and gets no new offers meanwhile).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum AgentStatus {
    Offline,
    Available,
    Away {
        reason: ReasonCode,
    },
    /// Holding at least one offer.
    Reserved,
    /// Handling at least one contact (talking, on hold, chatting).
    Busy,
    /// Only after-contact work left; free again at `until` at the latest.
    WrapUp {
        until: Timestamp,
    },
    /// Missed or rejected an offer; no new offers until `until`.
    NoAnswerDelay {
        until: Timestamp,
    },
}

impl AgentStatus {
    pub fn name(&self) -> &'static str {
        match self {
            AgentStatus::Offline => "offline",
            AgentStatus::Available => "available",
            AgentStatus::Away { .. } => "away",
            AgentStatus::Reserved => "reserved",
            AgentStatus::Busy => "busy",
            AgentStatus::WrapUp { .. } => "wrap_up",
            AgentStatus::NoAnswerDelay { .. } => "no_answer_delay",
        }
    }
}

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{duration_secs, QueueId, SkillLevel, SkillRequirement, ValidationError};

/// How a queue picks among several free, eligible agents for a contact. (Which contact a
/// freed agent gets is always the same rule: effective priority, then arrival.)
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RoutingStrategy {
    /// The agent idle longest, counted from the end of their last contact *or offer*, so an
    /// agent who rejects or misses an offer goes to the back of the line.
    #[default]
    LongestIdle,
    /// The agent offered the fewest contacts since they logged in (answered or not, so that
    /// an agent who keeps declining is not chosen again and again), ties to the least recently
    /// offered.
    FewestContacts,
    /// Take turns: the agent least recently offered a contact of this queue.
    RoundRobin,
    /// The highest total level in the contact's required skills, ties to the longest idle.
    BestSkill,
    /// Uniformly spread, reproducibly: a hash of contact and agent ids decides.
    Random,
}

impl RoutingStrategy {
    pub fn as_str(self) -> &'static str {
        match self {
            RoutingStrategy::LongestIdle => "longest_idle",
            RoutingStrategy::FewestContacts => "fewest_contacts",
            RoutingStrategy::RoundRobin => "round_robin",
            RoutingStrategy::BestSkill => "best_skill",
            RoutingStrategy::Random => "random",
        }
    }
}

/// "`percent`% of contacts answered within `threshold`", e.g. 80/20.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServiceLevelTarget {
    #[cfg_attr(feature = "openapi", schema(value_type = f64))]
    #[serde(with = "duration_secs")]
    pub threshold: Duration,
    pub percent: f64,
}

impl Default for ServiceLevelTarget {
    fn default() -> Self {
        Self {
            threshold: Duration::from_secs(20),
            percent: 80.0,
        }
    }
}

/// Bullseye routing: once a contact has waited `after` in the queue, every skill it requires
/// is accepted from level `min_level` up (if that is lower than what it asked for).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExpansionStep {
    #[cfg_attr(feature = "openapi", schema(value_type = f64))]
    #[serde(with = "duration_secs")]
    pub after: Duration,
    pub min_level: SkillLevel,
}

/// What happens to a contact that waited too long.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "exit", rename_all = "snake_case")]
pub enum WaitExit {
    /// Move to another queue (keeping its arrival time, so it is not sent to the back).
    Overflow { queue: QueueId },
    /// Leave the ACD (the PBX plays a message, takes a voicemail…).
    Leave,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MaxWait {
    #[cfg_attr(feature = "openapi", schema(value_type = f64))]
    #[serde(with = "duration_secs")]
    pub after: Duration,
    #[serde(flatten)]
    pub exit: WaitExit,
}

/// Every routing setting of a queue. Defaults are those of a typical inbound voice queue.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QueueConfig {
    pub id: QueueId,
    #[serde(default)]
    pub strategy: RoutingStrategy,
    /// Skills every contact of this queue needs; contacts may add their own (e.g. a language).
    #[serde(default)]
    pub required_skills: Vec<SkillRequirement>,
    /// How long an agent has to accept an offer.
    #[cfg_attr(feature = "openapi", schema(value_type = f64))]
    #[serde(default = "defaults::offer_timeout", with = "duration_secs")]
    pub offer_timeout: Duration,
    /// After-contact work time; the agent may finish earlier.
    #[cfg_attr(feature = "openapi", schema(value_type = f64))]
    #[serde(default = "defaults::wrap_up", with = "duration_secs")]
    pub wrap_up: Duration,
    /// Missed offers in a row after which the agent is set away with reason `no-answer`.
    /// 0 = never.
    #[serde(default = "defaults::max_no_answer")]
    pub max_no_answer: u32,
    /// Pause after a missed offer before the agent is offered again.
    #[cfg_attr(feature = "openapi", schema(value_type = f64))]
    #[serde(default = "defaults::no_answer_delay", with = "duration_secs")]
    pub no_answer_delay: Duration,
    /// Pause after a rejected offer.
    #[cfg_attr(feature = "openapi", schema(value_type = f64))]
    #[serde(default = "defaults::reject_delay", with = "duration_secs")]
    pub reject_delay: Duration,
    #[serde(default)]
    pub service_level: ServiceLevelTarget,
    /// Steps in increasing `after`, decreasing `min_level`.
    #[serde(default)]
    pub expansion: Vec<ExpansionStep>,
    #[serde(default)]
    pub max_wait: Option<MaxWait>,
    /// Accept contacts while no agent able to serve the queue is logged in.
    #[serde(default = "defaults::yes")]
    pub join_when_empty: bool,
    /// Send waiting contacts out (reason `no_agents`) when the last such agent logs out.
    #[serde(default)]
    pub leave_when_empty: bool,
    /// Priority points a waiting contact gains per minute waited.
    #[serde(default)]
    pub priority_aging_per_min: u32,
}

impl QueueConfig {
    pub fn new(id: QueueId) -> Self {
        Self {
            id,
            strategy: RoutingStrategy::default(),
            required_skills: Vec::new(),
            offer_timeout: defaults::offer_timeout(),
            wrap_up: defaults::wrap_up(),
            max_no_answer: defaults::max_no_answer(),
            no_answer_delay: defaults::no_answer_delay(),
            reject_delay: defaults::reject_delay(),
            service_level: ServiceLevelTarget::default(),
            expansion: Vec::new(),
            max_wait: None,
            join_when_empty: true,
            leave_when_empty: false,
            priority_aging_per_min: 0,
        }
    }

    /// Checks the settings hang together. Field names in errors follow the serialised form.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.offer_timeout < Duration::from_secs(1) {
            return Err(ValidationError::new(
                "offer_timeout",
                "must be at least 1 second",
            ));
        }
        let pct = self.service_level.percent;
        if !(pct.is_finite() && (0.0..=100.0).contains(&pct)) {
            return Err(ValidationError::new(
                "service_level.percent",
                "must be between 0 and 100",
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, r) in self.required_skills.iter().enumerate() {
            if !seen.insert(&r.skill) {
                return Err(ValidationError::new(
                    format!("required_skills[{i}].skill"),
                    "appears twice",
                ));
            }
        }
        for (i, pair) in self.expansion.windows(2).enumerate() {
            if pair[1].after <= pair[0].after {
                return Err(ValidationError::new(
                    format!("expansion[{}].after", i + 1),
                    "steps must come in increasing time",
                ));
            }
            if pair[1].min_level >= pair[0].min_level {
                return Err(ValidationError::new(
                    format!("expansion[{}].min_level", i + 1),
                    "each step must accept a lower level than the one before",
                ));
            }
        }
        if let Some(MaxWait {
            exit: WaitExit::Overflow { queue },
            ..
        }) = &self.max_wait
        {
            if *queue == self.id {
                return Err(ValidationError::new(
                    "max_wait.queue",
                    "cannot overflow to itself",
                ));
            }
        }
        if self.priority_aging_per_min > 1_000 {
            return Err(ValidationError::new(
                "priority_aging_per_min",
                "must be at most 1000",
            ));
        }
        Ok(())
    }

    /// The level floor in force for a contact that has waited `waited` in this queue.
    pub fn level_floor(&self, waited: Duration) -> Option<SkillLevel> {
        self.expansion
            .iter()
            .take_while(|s| s.after <= waited)
            .last()
            .map(|s| s.min_level)
    }
}

mod defaults {
    use std::time::Duration;

    pub(super) fn offer_timeout() -> Duration {
        Duration::from_secs(15)
    }
    pub(super) fn wrap_up() -> Duration {
        Duration::from_secs(30)
    }
    pub(super) fn max_no_answer() -> u32 {
        3
    }
    pub(super) fn no_answer_delay() -> Duration {
        Duration::from_secs(10)
    }
    pub(super) fn reject_delay() -> Duration {
        Duration::from_secs(5)
    }
    pub(super) fn yes() -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q() -> QueueConfig {
        QueueConfig::new(QueueId::parse("sales").unwrap())
    }

    fn step(after: u64, level: u8) -> ExpansionStep {
        ExpansionStep {
            after: Duration::from_secs(after),
            min_level: SkillLevel::new(level).unwrap(),
        }
    }

    #[test]
    fn defaults_are_valid_and_deserialise_from_almost_nothing() {
        assert_eq!(q().validate(), Ok(()));
        let parsed: QueueConfig = serde_json::from_str(
            r#"{"id":"sales","max_wait":{"after":120,"exit":"overflow","queue":"general"}}"#,
        )
        .unwrap();
        assert_eq!(parsed.offer_timeout, Duration::from_secs(15));
        assert_eq!(
            parsed.max_wait.unwrap().exit,
            WaitExit::Overflow {
                queue: QueueId::parse("general").unwrap()
            }
        );
    }

    #[test]
    fn expansion_must_widen_over_time() {
        let mut c = q();
        c.expansion = vec![step(30, 5), step(20, 3)];
        assert_eq!(c.validate().unwrap_err().field, "expansion[1].after");
        c.expansion = vec![step(30, 5), step(60, 5)];
        assert_eq!(c.validate().unwrap_err().field, "expansion[1].min_level");
        c.expansion = vec![step(30, 5), step(60, 2)];
        assert_eq!(c.validate(), Ok(()));
        assert_eq!(c.level_floor(Duration::from_secs(29)), None);
        assert_eq!(
            c.level_floor(Duration::from_secs(30)),
            SkillLevel::new(5).ok()
        );
        assert_eq!(
            c.level_floor(Duration::from_secs(600)),
            SkillLevel::new(2).ok()
        );
    }

    #[test]
    fn a_queue_cannot_overflow_into_itself() {
        let mut c = q();
        c.max_wait = Some(MaxWait {
            after: Duration::from_secs(60),
            exit: WaitExit::Overflow {
                queue: c.id.clone(),
            },
        });
        assert_eq!(c.validate().unwrap_err().field, "max_wait.queue");
    }
}

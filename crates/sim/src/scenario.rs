//! The scenario: what to simulate, as TOML (unknown keys refused) or built in code, and its
//! validation into a [`Plan`] of engine settings and millisecond times.

use std::{collections::BTreeMap, fmt, time::Duration};

use serde::{Deserialize, Deserializer};
use switchboard_domain::{
    AgentId, AgentProfile, Capacity, Channel, ExpansionStep, MaxWait, QueueConfig, QueueId,
    RoutingStrategy, SkillLevel, SkillName, SkillRequirement, WaitExit,
};

/// A scenario failed to parse or does not hang together: which field, and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct ScenarioError {
    /// Path of the field in the scenario (`queues[1].handle_time.mean`), or `toml` for syntax.
    pub field: String,
    pub problem: String,
}

impl ScenarioError {
    fn new(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            problem: problem.into(),
        }
    }
}

/// The longest simulated horizon: a year of virtual time.
const MAX_HOURS: f64 = 366.0 * 24.0;
/// The most contacts one run may generate.
pub const MAX_CALLS: u64 = 100_000_000;
/// The most agents one run may have.
pub const MAX_AGENTS: u32 = 100_000;

/// A random duration, in seconds.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(tag = "distribution", rename_all = "snake_case", deny_unknown_fields)]
pub enum Distribution {
    /// Always `mean`.
    Fixed { mean: f64 },
    /// Exponential with this mean (the Erlang C / A assumption).
    Exponential { mean: f64 },
    /// Log-normal with this mean and standard deviation (of the duration itself), the usual
    /// shape of real handle times: never negative, a long right tail.
    #[serde(rename = "lognormal")]
    LogNormal { mean: f64, sd: f64 },
}

impl Distribution {
    pub fn mean(&self) -> f64 {
        match *self {
            Distribution::Fixed { mean }
            | Distribution::Exponential { mean }
            | Distribution::LogNormal { mean, .. } => mean,
        }
    }

    fn validate(&self, field: &str) -> Result<(), ScenarioError> {
        let ok = |v: f64| v.is_finite() && v > 0.0 && v <= 366.0 * 24.0 * 3600.0;
        if !ok(self.mean()) {
            return Err(ScenarioError::new(
                format!("{field}.mean"),
                "must be a number of seconds above 0 and at most a year",
            ));
        }
        if let Distribution::LogNormal { sd, .. } = *self {
            if !(sd.is_finite() && sd > 0.0 && sd <= 1e3 * self.mean()) {
                return Err(ScenarioError::new(
                    format!("{field}.sd"),
                    "must be above 0 (and at most 1000 × the mean)",
                ));
            }
        }
        Ok(())
    }
}

/// An instant of the simulated day, `"HH:MM"` or `"HH:MM:SS"` after the start (hours may pass
/// 24 for a second day: `"30:00"` is 06:00 the next day).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ClockTime(u64);

impl ClockTime {
    pub fn from_secs(secs: u64) -> Self {
        Self(secs)
    }

    pub fn secs(self) -> u64 {
        self.0
    }

    pub fn parse(raw: &str) -> Option<Self> {
        let parts: Vec<&str> = raw.split(':').collect();
        if !(2..=3).contains(&parts.len()) {
            return None;
        }
        let num = |s: &str, max: u64| -> Option<u64> {
            if s.is_empty() || s.len() > 4 || !s.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            s.parse().ok().filter(|&v| v <= max)
        };
        let h = num(parts[0], 9_999)?;
        let m = num(parts[1], 59)?;
        let s = parts.get(2).map_or(Some(0), |s| num(s, 59))?;
        Some(Self(h * 3600 + m * 60 + s))
    }
}

impl fmt::Display for ClockTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (h, m, s) = (self.0 / 3600, self.0 / 60 % 60, self.0 % 60);
        if s == 0 {
            write!(f, "{h:02}:{m:02}")
        } else {
            write!(f, "{h:02}:{m:02}:{s:02}")
        }
    }
}

impl<'de> Deserialize<'de> for ClockTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "{raw:?} is not a time: use \"HH:MM\" or \"HH:MM:SS\""
            ))
        })
    }
}

/// From `from` on (until the next step), contacts arrive at `per_hour`.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateStep {
    pub from: ClockTime,
    pub per_hour: f64,
}

/// A shift: the group's agents log in at `start` and, at `end`, log out once they have
/// finished the contact in hand.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shift {
    pub start: ClockTime,
    pub end: ClockTime,
}

/// How often per-interval reports are cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum ReportInterval {
    #[serde(rename = "15m")]
    Minutes15,
    #[serde(rename = "30m")]
    Minutes30,
    #[serde(rename = "60m")]
    Minutes60,
}

/// One queue: its routing settings (as the dispatcher's [`QueueConfig`]) and its traffic.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueSpec {
    pub id: QueueId,
    #[serde(default)]
    pub channel: Option<Channel>,
    #[serde(default)]
    pub strategy: RoutingStrategy,
    #[serde(default)]
    pub required_skills: Vec<SkillRequirement>,
    /// Seconds an agent has to accept (default 15).
    #[serde(default)]
    pub offer_timeout: Option<f64>,
    /// After-contact work in seconds (default 0 here: say what you mean).
    #[serde(default)]
    pub wrap_up: f64,
    #[serde(default)]
    pub max_no_answer: Option<u32>,
    #[serde(default)]
    pub no_answer_delay: Option<f64>,
    #[serde(default)]
    pub expansion: Vec<ExpansionStep>,
    #[serde(default)]
    pub max_wait: Option<MaxWait>,
    #[serde(default)]
    pub priority_aging_per_min: u32,
    /// A constant arrival rate (contacts per hour), or …
    #[serde(default)]
    pub arrivals_per_hour: Option<f64>,
    /// … a rate that changes over the day (steps in increasing `from`; before the first step
    /// nobody arrives).
    #[serde(default)]
    pub arrival_profile: Vec<RateStep>,
    pub handle_time: Distribution,
    /// How long callers wait before hanging up; none: they never do.
    #[serde(default)]
    pub patience: Option<Distribution>,
}

/// A group of identical agents.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupSpec {
    /// Agents are named `{name}-1`, `{name}-2`…
    pub name: String,
    pub agents: u32,
    #[serde(default)]
    pub skills: BTreeMap<SkillName, SkillLevel>,
    #[serde(default)]
    pub capacity: Option<Capacity>,
    /// Seconds from an offer to the agent's accept (default 0).
    #[serde(default)]
    pub answer_delay: f64,
    /// Share of offers the agent lets ring out (the engine's offer timeout fires), `0..1`.
    #[serde(default)]
    pub miss_rate: f64,
    /// An agent the dispatcher set away after missed offers comes back after this many
    /// seconds (default 60).
    #[serde(default)]
    pub back_after_no_answer: Option<f64>,
    /// Working hours; none: the whole simulation.
    #[serde(default)]
    pub shifts: Vec<Shift>,
}

/// Everything a run needs. Build it from TOML ([`Scenario::from_toml`]), from the simple
/// flags ([`Scenario::single_queue`]), or field by field.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Seed of every random draw: same scenario and seed, same report.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Arrivals stop after this many simulated hours …
    #[serde(default)]
    pub hours: Option<f64>,
    /// … or after this many contacts, whichever comes first (at least one is needed).
    #[serde(default)]
    pub calls: Option<u64>,
    /// Seconds at the start left out of the reports (the center fills up from empty).
    #[serde(default)]
    pub warm_up: f64,
    /// Service-level target `T` in seconds (default 20).
    #[serde(default = "default_sl_target")]
    pub sl_target: f64,
    /// Also report per interval.
    #[serde(default)]
    pub interval: Option<ReportInterval>,
    pub queues: Vec<QueueSpec>,
    pub groups: Vec<GroupSpec>,
}

fn default_seed() -> u64 {
    1
}

fn default_sl_target() -> f64 {
    20.0
}

/// The simple case: one queue, one group, exponential handle times.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SingleQueue {
    pub agents: u32,
    pub calls: u64,
    pub arrivals_per_hour: f64,
    /// Mean handle time in seconds.
    pub aht: f64,
    /// Mean patience in seconds (exponential), if callers hang up.
    pub patience: Option<f64>,
    pub sl_target: f64,
    pub seed: u64,
}

impl Scenario {
    /// Parses and validates a TOML scenario.
    pub fn from_toml(text: &str) -> Result<Self, ScenarioError> {
        let scenario: Scenario =
            toml::from_str(text).map_err(|e| ScenarioError::new("toml", e.to_string()))?;
        scenario.plan()?;
        Ok(scenario)
    }

    /// One queue `q`, one group `agents` with skill `q`, FIFO (longest idle), no wrap-up.
    pub fn single_queue(s: SingleQueue) -> Self {
        let q = QueueId::parse("q").expect("valid name");
        let skill = SkillName::parse("q").expect("valid name");
        Scenario {
            seed: s.seed,
            hours: None,
            calls: Some(s.calls),
            warm_up: 0.0,
            sl_target: s.sl_target,
            interval: None,
            queues: vec![QueueSpec {
                id: q,
                channel: None,
                strategy: RoutingStrategy::LongestIdle,
                required_skills: vec![SkillRequirement::new(
                    skill.clone(),
                    SkillLevel::new(1).expect("valid level"),
                )],
                offer_timeout: None,
                wrap_up: 0.0,
                max_no_answer: None,
                no_answer_delay: None,
                expansion: Vec::new(),
                max_wait: None,
                priority_aging_per_min: 0,
                arrivals_per_hour: Some(s.arrivals_per_hour),
                arrival_profile: Vec::new(),
                handle_time: Distribution::Exponential { mean: s.aht },
                patience: s.patience.map(|mean| Distribution::Exponential { mean }),
            }],
            groups: vec![GroupSpec {
                name: "agent".into(),
                agents: s.agents,
                skills: BTreeMap::from([(skill, SkillLevel::new(5).expect("valid level"))]),
                capacity: None,
                answer_delay: 0.0,
                miss_rate: 0.0,
                back_after_no_answer: None,
                shifts: Vec::new(),
            }],
        }
    }

    /// Checks everything and turns it into engine settings and millisecond times.
    pub(crate) fn plan(&self) -> Result<Plan, ScenarioError> {
        let hours = match (self.hours, self.calls) {
            (None, None) => {
                return Err(ScenarioError::new(
                    "hours",
                    "give `hours`, `calls` or both: when do arrivals stop?",
                ))
            }
            (Some(h), _) if !(h.is_finite() && h > 0.0 && h <= MAX_HOURS) => {
                return Err(ScenarioError::new(
                    "hours",
                    format!("must be above 0 and at most {MAX_HOURS}"),
                ))
            }
            (h, _) => h,
        };
        if let Some(c) = self.calls {
            if c == 0 || c > MAX_CALLS {
                return Err(ScenarioError::new(
                    "calls",
                    format!("must be 1 to {MAX_CALLS}"),
                ));
            }
        }
        let horizon_ms = hours.map(|h| secs_ms(h * 3600.0));
        if !(self.warm_up.is_finite() && self.warm_up >= 0.0 && self.warm_up <= MAX_HOURS * 3600.0)
        {
            return Err(ScenarioError::new(
                "warm_up",
                "must be a number of seconds ≥ 0",
            ));
        }
        if horizon_ms.is_some_and(|h| secs_ms(self.warm_up) >= h) {
            return Err(ScenarioError::new(
                "warm_up",
                "must be shorter than the simulated hours",
            ));
        }
        if !(self.sl_target.is_finite() && (0.0..=86_400.0).contains(&self.sl_target)) {
            return Err(ScenarioError::new(
                "sl_target",
                "must be 0 to 86400 seconds",
            ));
        }
        if self.queues.is_empty() {
            return Err(ScenarioError::new("queues", "at least one queue is needed"));
        }
        if self.groups.is_empty() {
            return Err(ScenarioError::new(
                "groups",
                "at least one group of agents is needed",
            ));
        }
        let mut queues = Vec::new();
        for (i, q) in self.queues.iter().enumerate() {
            queues.push(q.plan(&format!("queues[{i}]"))?);
        }
        for (i, q) in queues.iter().enumerate() {
            if queues[..i]
                .iter()
                .any(|o: &QueuePlan| o.config.id == q.config.id)
            {
                return Err(ScenarioError::new(
                    format!("queues[{i}].id"),
                    format!("queue {} appears twice", q.config.id),
                ));
            }
            if let Some(MaxWait {
                exit: WaitExit::Overflow { queue },
                ..
            }) = &q.config.max_wait
            {
                if !queues.iter().any(|o| &o.config.id == queue) {
                    return Err(ScenarioError::new(
                        format!("queues[{i}].max_wait.queue"),
                        format!("no queue {queue} in the scenario"),
                    ));
                }
            }
        }
        let min_timeout = queues
            .iter()
            .map(|q| q.config.offer_timeout)
            .min()
            .unwrap_or_default();
        let mut groups = Vec::new();
        let mut total_agents = 0u64;
        for (i, g) in self.groups.iter().enumerate() {
            let field = format!("groups[{i}]");
            if self.groups[..i].iter().any(|o| o.name == g.name) {
                return Err(ScenarioError::new(
                    format!("{field}.name"),
                    format!("group {} appears twice", g.name),
                ));
            }
            let plan = g.plan(&field, min_timeout)?;
            total_agents += u64::from(g.agents);
            groups.push(plan);
        }
        if total_agents > u64::from(MAX_AGENTS) {
            return Err(ScenarioError::new(
                "groups",
                format!("at most {MAX_AGENTS} agents in all"),
            ));
        }
        for (i, q) in queues.iter().enumerate() {
            let served = groups.iter().any(|g| {
                q.config
                    .required_skills
                    .iter()
                    .all(|r| g.profile_skills.contains_key(&r.skill))
            });
            if !served {
                return Err(ScenarioError::new(
                    format!("queues[{i}].required_skills"),
                    "no group has these skills: nobody would ever serve this queue",
                ));
            }
        }
        Ok(Plan {
            seed: self.seed,
            horizon_ms,
            calls: self.calls,
            warm_up_ms: secs_ms(self.warm_up),
            sl_target: Duration::from_millis(secs_ms(self.sl_target) as u64),
            interval: self.interval,
            queues,
            groups,
        })
    }
}

impl QueueSpec {
    fn plan(&self, field: &str) -> Result<QueuePlan, ScenarioError> {
        let mut config = QueueConfig::new(self.id.clone());
        config.strategy = self.strategy;
        config.required_skills = self.required_skills.clone();
        if let Some(t) = self.offer_timeout {
            config.offer_timeout = seconds(&format!("{field}.offer_timeout"), t)?;
        }
        config.wrap_up = seconds(&format!("{field}.wrap_up"), self.wrap_up)?;
        if let Some(n) = self.max_no_answer {
            config.max_no_answer = n;
        }
        if let Some(d) = self.no_answer_delay {
            config.no_answer_delay = seconds(&format!("{field}.no_answer_delay"), d)?;
        }
        config.expansion = self.expansion.clone();
        config.max_wait = self.max_wait.clone();
        config.priority_aging_per_min = self.priority_aging_per_min;
        config
            .validate()
            .map_err(|e| ScenarioError::new(format!("{field}.{}", e.field), e.problem))?;
        let rate_ok = |r: f64| r.is_finite() && (0.0..=3_600_000.0).contains(&r);
        let profile = match (self.arrivals_per_hour, self.arrival_profile.is_empty()) {
            (Some(r), true) => {
                if !rate_ok(r) {
                    return Err(ScenarioError::new(
                        format!("{field}.arrivals_per_hour"),
                        "must be 0 to 3,600,000",
                    ));
                }
                vec![(0, r / 3_600_000.0)]
            }
            (None, false) => {
                let mut steps = Vec::new();
                for (j, s) in self.arrival_profile.iter().enumerate() {
                    let f = format!("{field}.arrival_profile[{j}]");
                    if !rate_ok(s.per_hour) {
                        return Err(ScenarioError::new(
                            format!("{f}.per_hour"),
                            "must be 0 to 3,600,000",
                        ));
                    }
                    if j > 0 && s.from <= self.arrival_profile[j - 1].from {
                        return Err(ScenarioError::new(
                            format!("{f}.from"),
                            "steps must come in increasing time",
                        ));
                    }
                    steps.push((s.from.secs() as i64 * 1000, s.per_hour / 3_600_000.0));
                }
                steps
            }
            (Some(_), false) => {
                return Err(ScenarioError::new(
                    format!("{field}.arrivals_per_hour"),
                    "give arrivals_per_hour or arrival_profile, not both",
                ))
            }
            (None, true) => {
                return Err(ScenarioError::new(
                    format!("{field}.arrivals_per_hour"),
                    "give arrivals_per_hour or arrival_profile",
                ))
            }
        };
        self.handle_time.validate(&format!("{field}.handle_time"))?;
        if let Some(p) = &self.patience {
            p.validate(&format!("{field}.patience"))?;
        }
        Ok(QueuePlan {
            config,
            channel: self.channel.unwrap_or(Channel::Voice),
            profile,
            handle_time: self.handle_time,
            patience: self.patience,
        })
    }
}

impl GroupSpec {
    fn plan(&self, field: &str, min_offer_timeout: Duration) -> Result<GroupPlan, ScenarioError> {
        // Agent ids are `{name}-{n}`: the name must leave room for the number.
        AgentId::parse(&format!("{}-{}", self.name, self.agents.max(1)))
            .map_err(|e| ScenarioError::new(format!("{field}.name"), e.problem))?;
        if self.agents == 0 {
            return Err(ScenarioError::new(
                format!("{field}.agents"),
                "must be at least 1",
            ));
        }
        let answer_delay = seconds(&format!("{field}.answer_delay"), self.answer_delay)?;
        if answer_delay >= min_offer_timeout {
            return Err(ScenarioError::new(
                format!("{field}.answer_delay"),
                "must be shorter than every queue's offer_timeout (use miss_rate for offers let ring)",
            ));
        }
        if !(self.miss_rate.is_finite() && (0.0..1.0).contains(&self.miss_rate)) {
            return Err(ScenarioError::new(
                format!("{field}.miss_rate"),
                "must be a fraction in 0..1",
            ));
        }
        let back = seconds(
            &format!("{field}.back_after_no_answer"),
            self.back_after_no_answer.unwrap_or(60.0),
        )?;
        let mut shifts = Vec::new();
        for (j, s) in self.shifts.iter().enumerate() {
            if s.end <= s.start {
                return Err(ScenarioError::new(
                    format!("{field}.shifts[{j}].end"),
                    "must be after the start",
                ));
            }
            if j > 0 && s.start < self.shifts[j - 1].end {
                return Err(ScenarioError::new(
                    format!("{field}.shifts[{j}].start"),
                    "shifts must come in order and not overlap",
                ));
            }
            shifts.push((s.start.secs() as i64 * 1000, s.end.secs() as i64 * 1000));
        }
        let mut template = AgentProfile::new(AgentId::parse("x").expect("valid name"));
        template.skills = self.skills.clone();
        if let Some(c) = self.capacity {
            template.capacity = c;
        }
        template
            .validate()
            .map_err(|e| ScenarioError::new(format!("{field}.{}", e.field), e.problem))?;
        Ok(GroupPlan {
            name: self.name.clone(),
            agents: self.agents,
            profile_skills: self.skills.clone(),
            capacity: template.capacity,
            answer_delay_ms: answer_delay.as_millis() as i64,
            miss_rate: self.miss_rate,
            back_after_no_answer_ms: back.as_millis() as i64,
            shifts,
        })
    }
}

/// A validated scenario in engine terms. Times are milliseconds from the start.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    pub(crate) seed: u64,
    pub(crate) horizon_ms: Option<i64>,
    pub(crate) calls: Option<u64>,
    pub(crate) warm_up_ms: i64,
    pub(crate) sl_target: Duration,
    pub(crate) interval: Option<ReportInterval>,
    pub(crate) queues: Vec<QueuePlan>,
    pub(crate) groups: Vec<GroupPlan>,
}

#[derive(Clone, Debug)]
pub(crate) struct QueuePlan {
    pub(crate) config: QueueConfig,
    pub(crate) channel: Channel,
    /// `(from_ms, contacts per ms)`, increasing `from_ms`.
    pub(crate) profile: Vec<(i64, f64)>,
    pub(crate) handle_time: Distribution,
    pub(crate) patience: Option<Distribution>,
}

#[derive(Clone, Debug)]
pub(crate) struct GroupPlan {
    pub(crate) name: String,
    pub(crate) agents: u32,
    pub(crate) profile_skills: BTreeMap<SkillName, SkillLevel>,
    pub(crate) capacity: Capacity,
    pub(crate) answer_delay_ms: i64,
    pub(crate) miss_rate: f64,
    pub(crate) back_after_no_answer_ms: i64,
    /// `(start_ms, end_ms)`; empty: logged in from the start, never out.
    pub(crate) shifts: Vec<(i64, i64)>,
}

fn secs_ms(secs: f64) -> i64 {
    (secs * 1000.0).round() as i64
}

fn seconds(field: &str, secs: f64) -> Result<Duration, ScenarioError> {
    if !(secs.is_finite() && (0.0..=366.0 * 24.0 * 3600.0).contains(&secs)) {
        return Err(ScenarioError::new(field, "must be a number of seconds ≥ 0"));
    }
    Ok(Duration::from_millis(secs_ms(secs) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_times_parse_and_print() {
        assert_eq!(ClockTime::parse("08:30").map(ClockTime::secs), Some(30_600));
        assert_eq!(
            ClockTime::parse("30:00:15").map(ClockTime::secs),
            Some(108_015)
        );
        for bad in [
            "8",
            "08:60",
            "08:00:61",
            "-1:00",
            "08:00:00:00",
            "",
            "aa:bb",
            "08:",
        ] {
            assert_eq!(ClockTime::parse(bad), None, "{bad}");
        }
        assert_eq!(ClockTime::from_secs(30_600).to_string(), "08:30");
        assert_eq!(ClockTime::from_secs(108_015).to_string(), "30:00:15");
    }

    #[test]
    fn the_simple_case_is_valid_and_bad_numbers_are_named() {
        let ok = SingleQueue {
            agents: 14,
            calls: 1_000,
            arrivals_per_hour: 200.0,
            aht: 180.0,
            patience: Some(120.0),
            sl_target: 20.0,
            seed: 1,
        };
        assert!(Scenario::single_queue(ok).plan().is_ok());
        let field = |s: SingleQueue| Scenario::single_queue(s).plan().unwrap_err().field;
        assert_eq!(field(SingleQueue { agents: 0, ..ok }), "groups[0].agents");
        assert_eq!(field(SingleQueue { calls: 0, ..ok }), "calls");
        assert_eq!(
            field(SingleQueue {
                arrivals_per_hour: f64::NAN,
                ..ok
            }),
            "queues[0].arrivals_per_hour"
        );
        assert_eq!(
            field(SingleQueue { aht: 0.0, ..ok }),
            "queues[0].handle_time.mean"
        );
        assert_eq!(
            field(SingleQueue {
                patience: Some(-3.0),
                ..ok
            }),
            "queues[0].patience.mean"
        );
        assert_eq!(
            field(SingleQueue {
                sl_target: -1.0,
                ..ok
            }),
            "sl_target"
        );
    }
}

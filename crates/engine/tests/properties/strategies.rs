//! The random setup and operations: a center of three queues and six agents ([`Setup`]) and
//! the steps that drive it ([`Op`]), with their generators; and the names and values the
//! whole suite shares.

use std::time::Duration;

use proptest::prelude::*;
use switchboard_domain::{
    AgentId, AgentProfile, Capacity, Channel, ExpansionStep, MaxWait, Presence, QueueConfig,
    QueueId, ReasonCode, RoutingStrategy, SkillLevel, SkillName, SkillRequirement, Tier, WaitExit,
};

/// `general` needs nothing; `tech` needs tech ≥ 6, from 3 after 20 s; `billing` needs some
/// billing level and overflows after 60 s.
pub(crate) const QUEUES: [&str; 3] = ["general", "tech", "billing"];
const SKILLS: [&str; 3] = ["tech", "billing", "lang"];
pub(crate) const AGENTS: usize = 6;
const STRATEGIES: [RoutingStrategy; 5] = [
    RoutingStrategy::LongestIdle,
    RoutingStrategy::FewestContacts,
    RoutingStrategy::RoundRobin,
    RoutingStrategy::BestSkill,
    RoutingStrategy::Random,
];
pub(crate) const CHANNELS: [Channel; 4] = [
    Channel::Voice,
    Channel::Chat,
    Channel::Email,
    Channel::Callback,
];
pub(crate) const TIERS: [Tier; 4] = [Tier::Standard, Tier::Silver, Tier::Gold, Tier::Platinum];

pub(crate) fn qid(i: usize) -> QueueId {
    QueueId::parse(QUEUES[i]).expect("valid queue name")
}

pub(crate) fn aid(i: usize) -> AgentId {
    AgentId::parse(&format!("agent{i}")).expect("valid agent name")
}

pub(crate) fn need(skill: &str, level: u8) -> SkillRequirement {
    SkillRequirement::new(
        SkillName::parse(skill).expect("valid skill"),
        SkillLevel::new(level).expect("valid level"),
    )
}

pub(crate) fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

pub(crate) fn presence(i: usize) -> Presence {
    match i % 3 {
        0 => Presence::Available,
        1 => Presence::Away {
            reason: ReasonCode::parse("break").expect("valid reason"),
        },
        _ => Presence::Offline,
    }
}

pub(crate) fn pick<T: Clone>(items: &[T], i: usize) -> Option<T> {
    (!items.is_empty()).then(|| items[i % items.len()].clone())
}

#[derive(Clone, Debug)]
pub(crate) struct QueueSpec {
    pub(crate) strategy: usize,
    pub(crate) wrap_up: u64,
    pub(crate) reject_delay: u64,
    pub(crate) no_answer_delay: u64,
    pub(crate) aging: u32,
}

#[derive(Clone, Debug)]
pub(crate) struct AgentSpec {
    /// Levels in [`SKILLS`], 0 = lacks the skill.
    pub(crate) levels: [u8; 3],
    pub(crate) capacity: Capacity,
    pub(crate) presence: usize,
}

#[derive(Clone, Debug)]
pub(crate) struct Setup {
    pub(crate) queues: Vec<QueueSpec>,
    pub(crate) billing_level: u8,
    pub(crate) overflow_to: usize,
    pub(crate) join_when_empty: bool,
    pub(crate) leave_when_empty: bool,
    pub(crate) agents: Vec<AgentSpec>,
}

impl Setup {
    pub(crate) fn queue_configs(&self) -> Vec<QueueConfig> {
        let mut configs: Vec<QueueConfig> = self
            .queues
            .iter()
            .enumerate()
            .map(|(i, spec)| {
                let mut c = QueueConfig::new(qid(i));
                c.strategy = STRATEGIES[spec.strategy];
                c.offer_timeout = secs(10);
                c.wrap_up = secs(spec.wrap_up);
                c.reject_delay = secs(spec.reject_delay);
                c.no_answer_delay = secs(spec.no_answer_delay);
                c.max_no_answer = 2;
                c.priority_aging_per_min = spec.aging;
                c
            })
            .collect();
        configs[1].required_skills = vec![need("tech", 6)];
        configs[1].expansion = vec![ExpansionStep {
            after: secs(20),
            min_level: SkillLevel::new(3).expect("valid level"),
        }];
        let billing = &mut configs[2];
        billing.required_skills = vec![need("billing", self.billing_level)];
        billing.max_wait = Some(MaxWait {
            after: secs(60),
            exit: WaitExit::Overflow {
                queue: qid(self.overflow_to),
            },
        });
        billing.join_when_empty = self.join_when_empty;
        billing.leave_when_empty = self.leave_when_empty;
        configs
    }
}

pub(crate) fn profile(i: usize, levels: [u8; 3], capacity: Capacity) -> AgentProfile {
    let mut p = AgentProfile::new(aid(i)).with_capacity(capacity);
    for (name, &l) in SKILLS.iter().zip(&levels) {
        if l > 0 {
            p = p.with_skill(
                SkillName::parse(name).expect("valid skill"),
                SkillLevel::new(l).expect("valid level"),
            );
        }
    }
    p
}

/// Levels in [`SKILLS`]; billing is rarer, so that its queue is sometimes left without agents.
fn levels() -> impl Strategy<Value = [u8; 3]> {
    let level = |absent| prop_oneof![absent => Just(0u8), 3 => 1..=10u8];
    [level(1), level(3), level(1)]
}

pub(crate) fn setup() -> impl Strategy<Value = Setup> {
    let queue = (
        0..STRATEGIES.len(),
        prop_oneof![Just(0u64), 1..=5u64],
        0..=5u64,
        0..=10u64,
        prop_oneof![Just(0u32), 1..=30u32],
    )
        .prop_map(
            |(strategy, wrap_up, reject_delay, no_answer_delay, aging)| QueueSpec {
                strategy,
                wrap_up,
                reject_delay,
                no_answer_delay,
                aging,
            },
        );
    let agent = (levels(), 0..=1u8, 0..=3u8, 0..=2u8, 0..3usize).prop_map(
        |(levels, voice, chat, email, presence)| AgentSpec {
            levels,
            capacity: Capacity {
                voice,
                chat,
                email,
                ticket: 0,
            },
            presence,
        },
    );
    (
        prop::collection::vec(queue, QUEUES.len()),
        1..=5u8,
        0..2usize,
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec(agent, AGENTS),
    )
        .prop_map(
            |(queues, billing_level, overflow_to, join_when_empty, leave_when_empty, agents)| {
                Setup {
                    queues,
                    billing_level,
                    overflow_to,
                    join_when_empty,
                    leave_when_empty,
                    agents,
                }
            },
        )
}

/// One step. Contacts are picked by index among those the operation makes sense for (or
/// among all contacts ever seen when there are none, which the engine should refuse).
#[derive(Clone, Debug)]
pub(crate) enum Op {
    Enqueue {
        queue: usize,
        channel: usize,
        tier: usize,
        urgency: u8,
        /// Level of `lang` the contact needs, 0 = none.
        lang: u8,
    },
    Presence {
        agent: usize,
        presence: usize,
    },
    Accept(usize),
    /// The PBX connected a waiting or ringing contact to this agent.
    Answer {
        pick: usize,
        agent: usize,
    },
    Reject(usize),
    Abandon(usize),
    Complete(usize),
    FinishWrapUp(usize),
    Hold(usize),
    Resume(usize),
    /// `to` < 3: a queue, else an agent.
    Transfer {
        pick: usize,
        to: usize,
    },
    Callback(usize),
    SetUrgency {
        pick: usize,
        urgency: u8,
    },
    /// New skill levels, same capacity.
    Reskill {
        agent: usize,
        levels: [u8; 3],
    },
    /// Seconds.
    Advance(u64),
}

pub(crate) fn op() -> impl Strategy<Value = Op> {
    let pick = || 0..64usize;
    let lang = prop_oneof![3 => Just(0u8), 1 => 1..=10u8];
    prop_oneof![
        5 => (0..QUEUES.len(), 0..CHANNELS.len(), 0..TIERS.len(), 0..=9u8, lang).prop_map(
            |(queue, channel, tier, urgency, lang)| Op::Enqueue { queue, channel, tier, urgency, lang }
        ),
        3 => (0..AGENTS, 0..3usize).prop_map(|(agent, presence)| Op::Presence { agent, presence }),
        5 => pick().prop_map(Op::Accept),
        1 => (pick(), 0..AGENTS).prop_map(|(pick, agent)| Op::Answer { pick, agent }),
        1 => pick().prop_map(Op::Reject),
        1 => pick().prop_map(Op::Abandon),
        3 => pick().prop_map(Op::Complete),
        2 => pick().prop_map(Op::FinishWrapUp),
        1 => pick().prop_map(Op::Hold),
        1 => pick().prop_map(Op::Resume),
        2 => (pick(), 0..QUEUES.len() + AGENTS).prop_map(|(pick, to)| Op::Transfer { pick, to }),
        1 => pick().prop_map(Op::Callback),
        1 => (pick(), 0..=9u8).prop_map(|(pick, urgency)| Op::SetUrgency { pick, urgency }),
        1 => (0..AGENTS, levels()).prop_map(|(agent, levels)| Op::Reskill { agent, levels }),
        5 => (0..=30u64).prop_map(Op::Advance),
    ]
}

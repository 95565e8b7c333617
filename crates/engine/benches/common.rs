//! Shared by the benchmarks: a reproducible center (1,000 agents, 50 skills, 20 queues),
//! a tiny PRNG, and percentiles.

#![allow(dead_code)]

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use switchboard_domain::*;

pub(crate) const QUEUES: usize = 20;
pub(crate) const SKILLS: usize = 50;
pub(crate) use switchboard_test_support::time::T0;

/// xorshift64*: reproducible without a dependency.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

pub(crate) fn skill(i: usize) -> SkillName {
    SkillName::parse(&format!("s{i}")).unwrap()
}

pub(crate) fn queue_id(i: usize) -> QueueId {
    QueueId::parse(&format!("q{i}")).unwrap()
}

pub(crate) fn agent_id(i: usize) -> AgentId {
    AgentId::parse(&format!("agent-{i}")).unwrap()
}

/// Queue i needs skill i (level ≥ 3); strategies rotate through all five; expansion to level
/// 1 after 30 s. Skills 20–49 are "extra" skills contacts may ask for (languages, products).
pub(crate) fn queues() -> Vec<QueueConfig> {
    let strategies = [
        RoutingStrategy::LongestIdle,
        RoutingStrategy::FewestContacts,
        RoutingStrategy::RoundRobin,
        RoutingStrategy::BestSkill,
        RoutingStrategy::Random,
    ];
    (0..QUEUES)
        .map(|i| {
            let mut q = QueueConfig::new(queue_id(i));
            q.strategy = strategies[i % strategies.len()];
            q.required_skills = vec![SkillRequirement::new(skill(i), SkillLevel::new(3).unwrap())];
            q.expansion = vec![ExpansionStep {
                after: Duration::from_secs(30),
                min_level: SkillLevel::MIN,
            }];
            q.wrap_up = Duration::ZERO;
            q.offer_timeout = Duration::from_secs(3600);
            q.priority_aging_per_min = 5;
            q
        })
        .collect()
}

/// Agent k: three queue skills and two extra skills, levels 1–10.
pub(crate) fn agents(n: usize, rng: &mut Rng) -> Vec<AgentProfile> {
    (0..n)
        .map(|k| {
            let mut p = AgentProfile::new(agent_id(k));
            p.capacity = Capacity {
                voice: 1,
                chat: 0,
                email: 0,
                ticket: 0,
            };
            for j in 0..3 {
                p = p.with_skill(
                    skill((k + j * 7) % QUEUES),
                    SkillLevel::new(1 + rng.below(10) as u8).unwrap(),
                );
            }
            for _ in 0..2 {
                p = p.with_skill(
                    skill(QUEUES + rng.below(SKILLS - QUEUES)),
                    SkillLevel::new(1 + rng.below(10) as u8).unwrap(),
                );
            }
            p
        })
        .collect()
}

/// A new contact id: increasing, as the edges mint them, from a counter.
pub(crate) fn contact_id() -> ContactId {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let mut bits = [0; 10];
    bits[2..].copy_from_slice(&NEXT.fetch_add(1, Ordering::Relaxed).to_be_bytes());
    ContactId::from_parts(Timestamp::from_millis(T0), bits)
}

/// A voice contact for a random queue; one in four asks for an extra skill.
pub(crate) fn contact(rng: &mut Rng) -> NewContact {
    let mut c = NewContact::new(contact_id(), queue_id(rng.below(QUEUES)), Channel::Voice);
    c.tier = [Tier::Standard, Tier::Silver, Tier::Gold, Tier::Platinum][rng.below(4)];
    c.urgency = Urgency::new(rng.below(3) as u8).unwrap();
    if rng.below(4) == 0 {
        c.skills.push(SkillRequirement::new(
            skill(QUEUES + rng.below(SKILLS - QUEUES)),
            SkillLevel::MIN,
        ));
    }
    c
}

pub(crate) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

pub(crate) fn fmt_us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

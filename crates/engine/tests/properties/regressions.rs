//! Regressions: engine bugs these properties found, each in a few commands, by the rule they
//! broke; and the helpers that set them up.

mod holders;
mod priority;

use std::time::Duration;

use switchboard_domain::{
    AgentId, AgentProfile, Capacity, Channel, ContactId, ContactState, Presence, QueueConfig,
};

use crate::{
    driver::Run,
    strategies::{profile, qid, secs, Op, CHANNELS},
};

/// A queue without wrap-up or delays, offers open 10 s.
fn quiet(i: usize) -> QueueConfig {
    let mut c = QueueConfig::new(qid(i));
    c.offer_timeout = secs(10);
    c.wrap_up = Duration::ZERO;
    c.reject_delay = Duration::ZERO;
    c.no_answer_delay = Duration::ZERO;
    c
}

fn agent(i: usize, levels: [u8; 3]) -> (AgentProfile, Presence) {
    (profile(i, levels, Capacity::default()), Presence::Available)
}

impl Run {
    fn enqueue(
        &mut self,
        queue: usize,
        channel: Channel,
        urgency: u8,
    ) -> Result<ContactId, String> {
        let channel = CHANNELS
            .iter()
            .position(|&c| c == channel)
            .expect("a generated channel");
        self.step(&Op::Enqueue {
            queue,
            channel,
            tier: 0,
            urgency,
            lang: 0,
        })?;
        Ok(*self.ids.last().expect("just enqueued"))
    }

    fn offered_to(&self, id: ContactId) -> Option<AgentId> {
        match self.engine.contact(id) {
            Some(ContactState::Offered { agent, .. }) => Some(agent),
            _ => None,
        }
    }
}

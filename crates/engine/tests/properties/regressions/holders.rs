//! Who holds a contact: it stays in the ACD until its last wrap-up ends (rule 6), and a
//! contact transferred to a named agent is offered to nobody else.

use switchboard_domain::{Channel, Command, ContactState, TransferTarget, WrapUp};

use super::{agent, quiet};
use crate::{
    driver::Run,
    strategies::{aid, qid, secs},
};

/// Rule 6. An agent can hold two wrap-ups of one chat: its part before transferring it away,
/// and its part after getting it back. Ending the older one must not drop the contact from the
/// ACD while its final wrap-up still runs.
#[test]
fn regression_a_contact_stays_until_its_last_wrap_up_ends() {
    let mut general = quiet(0);
    general.wrap_up = secs(30);
    let mut run = Run::start(vec![general], vec![agent(0, [0; 3])]).expect("setup");
    let chat = run.enqueue(0, Channel::Chat, 0).expect("enqueue");
    let steps = [
        Command::Accept {
            contact: chat,
            agent: aid(0),
        },
        Command::Transfer {
            contact: chat,
            to: TransferTarget::Queue(qid(0)),
        },
        Command::Accept {
            contact: chat,
            agent: aid(0),
        },
        Command::Complete { contact: chat },
        Command::FinishWrapUp {
            contact: chat,
            agent: aid(0),
            wrap_up: WrapUp::default(),
        },
    ];
    let verdict: Result<(), String> = steps.into_iter().try_for_each(|cmd| run.command(cmd));
    let left = run.engine.agent_contacts(&aid(0));
    assert!(
        left.is_empty() || run.engine.contact(chat).is_some(),
        "agent0 still wraps up {left:?}, the contact is gone; {verdict:?}"
    );
}

/// Rule "offers of a contact transferred by name go to that agent". A contact ringing at an agent
/// and transferred by name to that same agent is matched with that agent excluded, which drops
/// the name (`target.filter(..)` in `match_contact_except`): the queue's strategy then offers it to
/// whichever other agent is free.
#[test]
fn regression_a_contact_transferred_by_name_is_offered_only_to_that_agent() {
    let agents = vec![agent(0, [0; 3]), agent(1, [0; 3])];
    let mut run = Run::start(vec![quiet(0)], agents).expect("setup");
    let call = run.enqueue(0, Channel::Voice, 0).expect("enqueue");
    let ringing = run.offered_to(call).expect("offered");
    let to = TransferTarget::Agent(ringing.clone());
    let verdict = run.command(Command::Transfer { contact: call, to });
    let now = run.engine.contact(call);
    let elsewhere = matches!(&now, Some(ContactState::Offered { agent, .. }) if *agent != ringing);
    assert!(!elsewhere, "{call} for {ringing} is {now:?}; {verdict:?}");
}

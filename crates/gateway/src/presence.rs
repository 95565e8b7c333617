//! Agent presence follows their consoles, across instances.
//!
//! An agent with no console open on any live instance cannot answer offers: they are set away
//! (`disconnected`), which withdraws their ringing offers for other agents. That happens when
//! their last console anywhere closes ([`console_closed`]), when the instance holding it dies
//! (found by [`run`]'s sweeps of the `switchboard_dispatch::ConsoleRegistry`), and when this
//! instance stops cleanly ([`leave`]).
//!
//! This module knows the console's idea of "away"; where the counts live (in process or in
//! Redis) is the registry's business.

use switchboard_dispatch::QueueBackend;
use switchboard_domain::{AgentId, AgentStatus, Command, Presence, ReasonCode};

use crate::state::AppState;

/// A console of `agent` opened on this instance.
pub(crate) async fn console_opened(state: &AppState, agent: &AgentId) {
    if let Err(e) = state.presence.opened(agent).await {
        tracing::warn!(agent = %agent, error = %e, "could not record an open console");
    }
}

/// A console of `agent` closed on this instance: if it was their last on any live instance,
/// they are set away. If the shared registry cannot be asked, this instance's own count
/// decides (it did record the close).
pub(crate) async fn console_closed(state: &AppState, agent: &AgentId) {
    let last = match state.presence.closed(agent).await {
        Ok(last) => last,
        Err(e) => {
            tracing::warn!(agent = %agent, error = %e, "could not ask whether the agent has a console elsewhere");
            !state.presence.has_local_console(agent).await
        }
    };
    if last {
        set_away(state, agent).await;
    }
}

/// Heartbeats this instance and sweeps for dead ones, forever (with the in-process registry
/// there is nothing to do and it returns at once).
pub async fn run(state: AppState) {
    if !state.presence.is_shared() {
        return;
    }
    let mut every = tokio::time::interval(state.presence.options().heartbeat_every);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if let Err(e) = state.presence.heartbeat().await {
            tracing::warn!(error = %e, "console presence heartbeat failed");
        }
        match state.presence.sweep().await {
            Ok(orphans) => {
                for agent in orphans {
                    // Between the sweep and now, a console may have opened somewhere.
                    if !matches!(state.presence.has_console(&agent).await, Ok(true)) {
                        set_away(&state, &agent).await;
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "sweeping dead instances' consoles failed"),
        }
    }
}

/// A clean stop: this instance's consoles count as closed; their agents with no console on
/// another live instance are set away.
pub async fn leave(state: &AppState) {
    match state.presence.leave().await {
        Ok(orphans) => {
            for agent in orphans {
                set_away(state, &agent).await;
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not withdraw this instance's consoles"),
    }
}

/// Sets a logged-in agent away (`disconnected`); an agent already away or offline is left
/// alone.
async fn set_away(state: &AppState, agent: &AgentId) {
    let logged_in = !matches!(
        state.dispatcher.agent_status(agent).await,
        Ok(Some(AgentStatus::Offline | AgentStatus::Away { .. })) | Ok(None) | Err(_)
    );
    if !logged_in {
        return;
    }
    let away = Presence::Away {
        reason: ReasonCode::parse("disconnected").expect("a valid reason"),
    };
    let command = Command::SetPresence {
        agent: agent.clone(),
        presence: away,
    };
    if let Err(e) = state.dispatcher.execute(command, state.clock.now()).await {
        tracing::warn!(agent = %agent, error = %e, "could not set a disconnected agent away");
    } else {
        tracing::info!(agent = %agent, "no console left anywhere: set away (disconnected)");
    }
}

//! A small demo center, so that a newcomer sees something working: skills, four queues,
//! five agents with sign-ins, a supervisor, greeting scripts, dispositions and away reasons.
//! Existing records are left alone, so running it twice changes nothing.

use std::time::Duration;

use anyhow::Context;

use switchboard_app::accounts::{hash_password, NewUserRequest, PasswordHashing};
use switchboard_domain::*;
use switchboard_store::{Document, NewUser, Role, Store};

use crate::app::random_secret;

/// What the seed created: sign-ins (with their generated passwords) to show the operator.
#[derive(Debug, Default)]
pub struct Seeded {
    pub records: usize,
    pub logins: Vec<(String, Role, String)>,
}

async fn put_new<D: Document>(
    store: &Store,
    doc: D,
    now: Timestamp,
    seeded: &mut Seeded,
) -> anyhow::Result<()> {
    if store.get::<D>(&doc.id()).await?.is_none() {
        store.put(&doc, Some(0), now).await?;
        seeded.records += 1;
    }
    Ok(())
}

fn skill(name: &str) -> SkillName {
    SkillName::parse(name).expect("demo skill names are valid")
}

fn level(l: u8) -> SkillLevel {
    SkillLevel::new(l).expect("demo levels are valid")
}

pub async fn seed_demo(store: &Store, now: Timestamp) -> anyhow::Result<Seeded> {
    let mut seeded = Seeded::default();
    for (name, description) in [
        ("sales", "New orders and upgrades"),
        ("tech", "Technical support"),
        ("billing", "Invoices, refunds, payment plans"),
        ("lang-en", "Speaks English"),
        ("lang-fr", "Speaks French"),
    ] {
        put_new(
            store,
            Skill {
                name: skill(name),
                description: description.into(),
            },
            now,
            &mut seeded,
        )
        .await?;
    }

    let mut general = QueueConfig::new(QueueId::parse("general")?);
    general.wrap_up = Duration::from_secs(20);
    let mut sales = QueueConfig::new(QueueId::parse("sales")?);
    sales.required_skills = vec![SkillRequirement::new(skill("sales"), level(3))];
    sales.priority_aging_per_min = 5;
    let mut support = QueueConfig::new(QueueId::parse("support")?);
    support.strategy = RoutingStrategy::BestSkill;
    support.required_skills = vec![SkillRequirement::new(skill("tech"), level(6))];
    support.expansion = vec![ExpansionStep {
        after: Duration::from_secs(30),
        min_level: level(3),
    }];
    support.max_wait = Some(MaxWait {
        after: Duration::from_secs(300),
        exit: WaitExit::Overflow {
            queue: QueueId::parse("general")?,
        },
    });
    let mut billing = QueueConfig::new(QueueId::parse("billing")?);
    billing.strategy = RoutingStrategy::FewestContacts;
    billing.required_skills = vec![SkillRequirement::new(skill("billing"), level(1))];
    for q in [general, sales, support, billing] {
        put_new(store, q, now, &mut seeded).await?;
    }

    let agents = [
        (
            "ann",
            "Ann Lee",
            "1001",
            &[("sales", 8), ("lang-en", 10)][..],
        ),
        (
            "bob",
            "Bob Martin",
            "1002",
            &[("tech", 7), ("lang-en", 9), ("lang-fr", 6)][..],
        ),
        (
            "chloe",
            "Chloé Dubois",
            "1003",
            &[("billing", 9), ("tech", 4), ("lang-fr", 10)][..],
        ),
        (
            "dan",
            "Dan Okafor",
            "1004",
            &[("sales", 5), ("billing", 6), ("lang-en", 10)][..],
        ),
        (
            "eva",
            "Eva Novak",
            "1005",
            &[("tech", 9), ("lang-en", 8)][..],
        ),
    ];
    for (id, name, number, skills) in agents {
        let mut profile = AgentProfile::new(AgentId::parse(id)?);
        for (s, l) in skills {
            profile = profile.with_skill(skill(s), level(*l));
        }
        let agent = Agent {
            profile,
            display_name: name.into(),
            number: number.into(),
            extension: Some(format!("ext-{number}")),
            team: Some("Team A".into()),
        };
        put_new(store, agent, now, &mut seeded).await?;
        login(
            store,
            id,
            name,
            Role::Agent,
            Some(AgentId::parse(id)?),
            &mut seeded,
        )
        .await?;
    }
    login(
        store,
        "sam",
        "Sam Supervisor",
        Role::Supervisor,
        None,
        &mut seeded,
    )
    .await?;

    for (id, language, template) in [
        ("default-en", "en", "Hello, {company}, glad to serve you. This is {agent_name}, agent number {agent_number}. How can I help you, {customer_name}?"),
        ("default-fr", "fr", "Bonjour, {company}, à votre service. Ici {agent_name}, conseiller {agent_number}. Que puis-je faire pour vous, {customer_name} ?"),
    ] {
        put_new(store, GreetingScript { script_id: id.into(), queue: None, language: language.into(), template: template.into() }, now, &mut seeded).await?;
    }
    for (code, label, resolves) in [
        ("resolved", "Resolved on this contact", true),
        ("callback-promised", "Callback promised", false),
        ("escalated", "Escalated to supervisor", false),
        ("info", "Information given", true),
        ("complaint", "Complaint recorded", false),
        ("wrong-number", "Wrong number", false),
    ] {
        put_new(
            store,
            Disposition {
                code: code.into(),
                label: label.into(),
                resolves,
            },
            now,
            &mut seeded,
        )
        .await?;
    }
    for (code, label) in [
        ("break", "Break"),
        ("lunch", "Lunch"),
        ("training", "Training"),
        ("meeting", "Meeting"),
    ] {
        put_new(
            store,
            AwayReason {
                code: ReasonCode::parse(code)?,
                label: label.into(),
            },
            now,
            &mut seeded,
        )
        .await?;
    }
    Ok(seeded)
}

async fn login(
    store: &Store,
    username: &str,
    display_name: &str,
    role: Role,
    agent_id: Option<AgentId>,
    seeded: &mut Seeded,
) -> anyhow::Result<()> {
    if store.user_by_username(username).await?.is_some() {
        return Ok(());
    }
    let req = NewUserRequest {
        username: username.into(),
        display_name: display_name.into(),
        role,
        password: random_secret()?,
        agent_id,
    };
    let password_hash = hash_password(req.password.clone(), PasswordHashing::default())
        .await
        .context("hashing a password")?;
    store
        .create_user(&NewUser {
            username: req.username,
            display_name: req.display_name,
            role: req.role,
            password_hash,
            agent_id: req.agent_id,
        })
        .await?;
    seeded.logins.push((username.into(), role, req.password));
    Ok(())
}

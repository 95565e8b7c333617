//! OpenAPI schemas (feature `openapi`) of the types whose wire form is not what a derive
//! would see: validated names, ids, timestamps and bounded numbers. The gateway derives the
//! API document from these and the `ToSchema` derives beside each type.

use utoipa::{
    openapi::{
        schema::{KnownFormat, ObjectBuilder, OneOfBuilder, SchemaFormat, Type},
        RefOr, Schema,
    },
    PartialSchema, ToSchema,
};

use crate::{
    AgentId, ContactId, QueueId, ReasonCode, SkillLevel, SkillName, Timestamp, Urgency,
    MAX_NAME_LEN,
};

fn name(description: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(MAX_NAME_LEN))
        .pattern(Some("^[A-Za-z0-9_.@-]+$"))
        .description(Some(description))
        .into()
}

macro_rules! schema {
    ($t:ty, $body:expr) => {
        impl PartialSchema for $t {
            fn schema() -> RefOr<Schema> {
                $body
            }
        }
        impl ToSchema for $t {}
    };
}

schema!(
    AgentId,
    name("an agent's id: 1-64 letters, digits, - _ . @")
);
schema!(QueueId, name("a queue's id: 1-64 letters, digits, - _ . @"));
schema!(SkillName, name("a skill: 1-64 letters, digits, - _ . @"));
schema!(
    ReasonCode,
    name("an away reason: 1-64 letters, digits, - _ . @")
);
schema!(
    ContactId,
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::Custom("uuid".into())))
        .description(Some("a contact's id (a UUID)"))
        .into()
);
schema!(
    Timestamp,
    OneOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64))),
        )
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime))),
        )
        .description(Some(
            "milliseconds since the Unix epoch, UTC (how answers write it); requests may also send an RFC 3339 time",
        ))
        .into()
);
schema!(
    SkillLevel,
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(1))
        .maximum(Some(10))
        .description(Some("1 (novice) to 10 (expert)"))
        .into()
);
schema!(
    Urgency,
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(0))
        .maximum(Some(9))
        .description(Some("0 (routine) to 9 (emergency)"))
        .into()
);

//! Every definition the orchestrator deploys (every shipped version) passes the
//! static check, every command and reply it names is a message type of the
//! contracts catalogue (commands on their contract's topic), and the orchestrator
//! subscribes to the topic of every reply those definitions await.

use sagaflow_orchestrator::{Settings, definitions, topics};
use sagaflow_saga_engine::{Compensation, check};

#[test]
fn deployed_definitions_are_valid_and_their_replies_are_consumed() {
    let deployed = definitions(&Settings::default());
    let subscribed = topics(&deployed);
    let mut count = 0;
    for def in deployed.iter() {
        count += 1;
        check(def).unwrap_or_else(|errors| panic!("{} v{}: {errors:?}", def.name, def.version));
        for step in &def.steps {
            let mut replies: Vec<&str> = step
                .completes_on
                .iter()
                .chain(step.fails_on)
                .copied()
                .collect();
            let mut commands = vec![&step.command];
            if let Compensation::Command {
                command,
                completes_on,
            } = &step.compensation
            {
                replies.extend(completes_on.iter().copied());
                commands.push(command);
            }
            for reply in replies {
                let topic = sagaflow_events::topic_of(reply)
                    .unwrap_or_else(|| panic!("{reply} has no contract"));
                assert!(
                    subscribed.iter().any(|t| t == topic),
                    "{reply} arrives on {topic}, not subscribed"
                );
            }
            for command in commands {
                assert!(
                    sagaflow_events::topic_of(command.message_type) == Some(command.topic),
                    "{} v{}: {} is a contract and goes to its contract's topic",
                    def.name,
                    def.version,
                    command.message_type
                );
            }
        }
    }
    assert!(count >= 1);
    assert!(subscribed.iter().any(|t| t == "orchestrator.commands"));
}

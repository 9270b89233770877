//! The files that deploy the platform without this binary's help (docker compose,
//! the database init script, the dev scripts) must name every service.

use sagaflow::platform::Service;

fn read(path: &str) -> String {
    let root = sagaflow_test_support::workspace_root();
    std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn every_service_is_deployed_everywhere() {
    let compose = read("infra/docker-compose.yml");
    let databases = read("infra/docker/create-databases.sql");
    let scripts = read("infra/dev/env.sh");
    let listed: Vec<&str> = scripts
        .lines()
        .find(|l| l.starts_with("SAGAFLOW_SERVICES="))
        .expect("SAGAFLOW_SERVICES in env.sh")
        .split(|c: char| !c.is_ascii_alphabetic())
        .collect();
    for service in Service::ALL {
        let name = service.name();
        assert!(
            compose.contains(&format!("[\"serve\", \"{name}\", \"--no-setup\"]")),
            "compose runs {name}"
        );
        assert!(
            compose.contains(&format!("/{}\n", service.database())),
            "compose gives {name} its database"
        );
        assert!(
            databases.contains(&format!("CREATE DATABASE {};", service.database())),
            "init script creates {name}'s database"
        );
        assert!(listed.contains(&name), "infra/dev/env.sh lists {name}");
    }
}

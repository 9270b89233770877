//! `sagaflow migrate <service|all>`.

use crate::commands::Database;
use crate::platform::{self, Service};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// `all` or one service name.
    pub service: String,
    #[command(flatten)]
    pub database: Database,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let services = if args.service == "all" {
        Service::ALL.to_vec()
    } else {
        vec![
            <Service as clap::ValueEnum>::from_str(&args.service, true)
                .map_err(|_| anyhow::anyhow!("unknown service `{}`", args.service))?,
        ]
    };
    for service in services {
        let url = args.database.url_for(service).await?;
        let pool = platform::connect(&url, 2).await?;
        platform::migrate(service, &pool).await?;
        println!("migrated {}", service.name());
    }
    Ok(())
}

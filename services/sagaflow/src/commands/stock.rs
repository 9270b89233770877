//! `sagaflow stock set <sku> <available>`.

use crate::commands::Database;
use crate::platform::{self, Service};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
    #[command(flatten)]
    pub database: Database,
}

#[derive(clap::Subcommand, Debug)]
pub enum Action {
    /// Set the available units of a SKU.
    Set { sku: String, available: i32 },
    /// Show the available units of a SKU.
    Get { sku: String },
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let url = args.database.url_for(Service::Inventory).await?;
    let pool = platform::connect(&url, 2).await?;
    platform::migrate(Service::Inventory, &pool).await?;
    match args.action {
        Action::Set { sku, available } => {
            anyhow::ensure!(available >= 0, "available must be 0 or more");
            sagaflow_inventory::set_stock(&pool, &sku, available).await?;
            println!("{sku}: {available}");
        }
        Action::Get { sku } => match sagaflow_inventory::stock(&pool, &sku).await? {
            Some(n) => println!("{sku}: {n}"),
            None => println!("{sku}: unknown"),
        },
    }
    Ok(())
}

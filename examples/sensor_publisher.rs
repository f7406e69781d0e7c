//! A sensor that publishes readings and answers "what is your latest reading?" requests.
//!
//! `cargo run --release &` (leafd on localhost:4222), then
//! `cargo run --example sensor_publisher -- nats://127.0.0.1:4222`
//!
//! Uses the stock async-nats client, unchanged: leafd speaks the NATS protocol.

use std::time::Duration;

use futures::StreamExt;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), async_nats::Error> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "nats://127.0.0.1:4222".into());
    let client = async_nats::connect(&url).await?;
    let mut requests = client.subscribe("sensors.temp.latest").await?;
    let mut reading = 20.0_f64;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    for _ in 0..10 {
        tokio::select! {
            _ = tick.tick() => {
                reading += 0.1;
                client.publish("sensors.temp.kitchen", format!("{reading:.1}").into()).await?;
                println!("published {reading:.1}");
            }
            Some(req) = requests.next() => {
                if let Some(reply) = req.reply {
                    client.publish(reply, format!("{reading:.1}").into()).await?;
                }
            }
        }
    }
    client.flush().await?;
    Ok(())
}

#[streampod::endpoint]
pub trait Echo {
    async fn merge(
        &self,
        left_side: streampod::InputStream<i64>,
        #[streampod(name = "leftSide")] right_side: streampod::InputStream<i64>,
    ) -> Result<i64, streampod::StreamError>;
}

fn main() {}

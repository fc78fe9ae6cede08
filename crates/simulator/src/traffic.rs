//! What cashiers send: baskets, customers, deliberate retries, mistakes.

use rand::Rng;
use rand::distr::weighted::WeightedIndex;
use rand::rngs::StdRng;
use serde_json::{Value, json};
use uuid::Uuid;

/// A product as the catalog endpoint lists it.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct CatalogProduct {
    pub id: i32,
    pub name: String,
}

#[derive(Clone, Debug, serde::Deserialize)]
pub struct CatalogBranch {
    pub id: String,
}

/// Proportions of the traffic.
#[derive(Clone, Debug)]
pub struct Mix {
    /// Share of sales to a customer seen before.
    pub returning: f64,
    /// Share of sales sent twice with the same Idempotency-Key (a till
    /// retrying after a lost answer).
    pub retry: f64,
    /// Share of baskets that break a rule on purpose.
    pub invalid: f64,
}

/// What a request is, so the answer can be judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Sale,
    Invalid,
}

pub struct Sale {
    pub body: Value,
    pub key: Uuid,
    pub kind: Kind,
    pub retry: bool,
}

/// Builds requests from the catalog with a weighted product choice: the
/// staples (milk, eggs, bread) dominate, as in the historical data.
pub struct Generator {
    products: Vec<CatalogProduct>,
    weights: WeightedIndex<u32>,
    branches: Vec<String>,
    mix: Mix,
}

const STAPLES: [&str; 3] = ["milk", "eggs", "bread"];

impl Generator {
    pub fn new(
        products: Vec<CatalogProduct>,
        branches: Vec<String>,
        mix: Mix,
    ) -> anyhow::Result<Generator> {
        anyhow::ensure!(
            products.len() >= 4,
            "the catalog has {} products; baskets need at least 4",
            products.len()
        );
        anyhow::ensure!(!branches.is_empty(), "there are no branches");
        let weights = WeightedIndex::new(products.iter().map(|p| {
            if STAPLES.contains(&p.name.as_str()) {
                12
            } else {
                1
            }
        }))?;
        Ok(Generator {
            products,
            weights,
            branches,
            mix,
        })
    }

    /// 2 to 4 distinct products, named mostly by name, sometimes by id.
    fn basket(&self, rng: &mut StdRng) -> Vec<Value> {
        let size = rng.random_range(2..=4);
        let mut chosen: Vec<usize> = Vec::with_capacity(size);
        while chosen.len() < size {
            let index = rng.sample(&self.weights);
            if !chosen.contains(&index) {
                chosen.push(index);
            }
        }
        chosen
            .into_iter()
            .map(|index| {
                let product = &self.products[index];
                if rng.random_bool(0.1) {
                    json!(product.id)
                } else {
                    json!(product.name)
                }
            })
            .collect()
    }

    pub fn next(&self, rng: &mut StdRng, known_customer: Option<Uuid>) -> Sale {
        let branch = &self.branches[rng.random_range(0..self.branches.len())];
        let mut items = self.basket(rng);
        let mut body = json!({"branch_id": branch});
        let returning = rng.random_bool(self.mix.returning);
        if let (true, Some(customer)) = (returning, known_customer) {
            body["customer_id"] = json!(customer.to_string());
        }
        let kind = if rng.random_bool(self.mix.invalid) {
            match rng.random_range(0..5) {
                0 => items.push(items[0].clone()),
                1 => items.push(json!("caviar")),
                2 => body["branch_id"] = json!("SMKT999"),
                3 => items.clear(),
                _ => items[0] = json!({"product": items[0], "quantity": 2}),
            }
            Kind::Invalid
        } else {
            Kind::Sale
        };
        body["items"] = Value::Array(items);
        Sale {
            body,
            key: Uuid::new_v4(),
            kind,
            retry: kind == Kind::Sale && rng.random_bool(self.mix.retry),
        }
    }
}

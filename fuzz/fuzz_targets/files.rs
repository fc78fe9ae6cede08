//! The three files together: products, branches and purchases, separated
//! by `0xFF` bytes; the purchases are read against the catalog and branches
//! the first two describe, when they are valid. See
//! `supermarket_loader_csv::contract` for what is checked.
#![no_main]

use libfuzzer_sys::fuzz_target;
use supermarket_loader_csv::contract;

fuzz_target!(|data: &[u8]| {
    let [products, branches, purchases] = contract::split_files(data);
    contract::files(products, branches, purchases, contract::zone_for(data));
});

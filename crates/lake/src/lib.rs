//! The data lake. (Being built.)

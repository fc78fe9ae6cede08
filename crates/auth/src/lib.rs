//! Access control. (Being built.)

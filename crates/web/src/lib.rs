//! Pages. (Being built.)

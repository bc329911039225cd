"""Academic leave and the return from it. One folder for the two: the return reads the leave the student is on and
takes its dates in the same ISO date fields."""

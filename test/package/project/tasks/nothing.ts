// A module with no task() declarations.
export const answer = 42;

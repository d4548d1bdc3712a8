"""Labs as a library: up, down, reset, load a running lab's scenario, control its services, and
the learner's progress. Ties the engine to the services and faults; imports everything below
it (faults, checks, services, engine, scenario, kernel), never grading or the CLI."""

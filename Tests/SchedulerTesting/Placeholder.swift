public enum SchedulerTestingPlaceholder {}

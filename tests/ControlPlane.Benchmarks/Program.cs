using BenchmarkDotNet.Running;
using ControlPlane.Benchmarks.Fleet;

// dotnet run -c Release --project tests/ControlPlane.Benchmarks -- --filter '*'
BenchmarkSwitcher.FromAssembly(typeof(HeartbeatPathBenchmarks).Assembly).Run(args);

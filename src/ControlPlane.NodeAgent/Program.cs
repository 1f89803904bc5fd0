using System.Runtime.InteropServices;
using ControlPlane.NodeAgent;
using ControlPlane.NodeAgent.Cli;
using ControlPlane.NodeAgent.Gpus;
using ControlPlane.NodeAgent.Heartbeats;
using ControlPlane.NodeAgent.Models;
using ControlPlane.NodeAgent.Replicas;

if (AgentOptions.IsHelpRequested(args))
{
    Console.Out.WriteLine(AgentOptions.Usage);
    return 0;
}

if (!AgentOptions.TryParse(args, Environment.GetEnvironmentVariable, out var options, out var error))
{
    Console.Error.WriteLine($"error: {error}");
    Console.Error.WriteLine(AgentOptions.Usage);
    return 2;
}

var log = new AgentLog(Console.Out, TimeProvider.System);
using var stopping = new CancellationTokenSource();
using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);

if (options.RuntimeDirectory is { } runtimeDirectory)
{
    try
    {
        Directory.CreateDirectory(runtimeDirectory);
    }
    catch (Exception e) when (e is IOException or UnauthorizedAccessException)
    {
        log.Error($"cannot create --runtime-dir '{runtimeDirectory}': {e.Message}");
        return 1;
    }
}

ModelCache? models = null;
if (options.ModelCache is { } cacheOptions)
{
    try
    {
        Directory.CreateDirectory(cacheOptions.Directory);
    }
    catch (Exception e) when (e is IOException or UnauthorizedAccessException)
    {
        log.Error($"cannot create --model-cache '{cacheOptions.Directory}': {e.Message}");
        return 1;
    }

    models = cacheOptions.Create(log, TimeProvider.System);
}

using var http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
{
    Timeout = HeartbeatClient.DefaultRequestTimeout,
};
// Touched after every heartbeat, and after every enrolment attempt while the agent waits for its first token.
var liveness = options.LivenessFile is { } livenessPath ? new LivenessFile(livenessPath, TimeProvider.System, log) : null;
NodeIdentity? identity = null;
var token = options.Token;
if (options.NodeTokenFile is { } tokenFile)
{
    identity = new NodeIdentity(http, options.Servers, options.NodeId, tokenFile, options.JoinToken, log, TimeProvider.System);
    try
    {
        token = await identity.ObtainAsync(stopping.Token, liveness is null ? null : liveness.Touch);
    }
    catch (OperationCanceledException) when (stopping.IsCancellationRequested)
    {
        log.Info("stopped");
        return 0;
    }
    catch (Exception e) when (e is IOException or UnauthorizedAccessException)
    {
        log.Error($"cannot read --node-token-file '{tokenFile}': {e.Message}");
        return 1;
    }

    if (token is null)
    {
        return 1;
    }
}

var client = new HeartbeatClient(http, options.Servers, options.NodeId, token!, HeartbeatClient.StartIndex(options.NodeId, options.Servers.Count));
var gpus = new NvidiaSmiReader(options.NvidiaSmiPath, NvidiaSmiReader.DefaultTimeout);
var sleep = options.SleepBudgetBytes > 0 && models is not null ? new SleepPolicy(options.SleepBudgetBytes, models.WeightBytes) : null;
IReplicaRuntime runtime;
try
{
    runtime = options.Runtime.CreateRuntime(log, TimeProvider.System, models is null ? null : models.MarkWarm);
}
catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or System.Security.Cryptography.CryptographicException)
{
    // The Kubernetes runtime reads its namespace, pod template and CA at start: a pod without them cannot run replicas.
    log.Error($"cannot set up the replica runtime: {e.Message}");
    return 1;
}

var replicas = new ReplicaSupervisor(runtime, log, TimeProvider.System, sleep);
var sessionId = Guid.NewGuid();
var loop = new HeartbeatLoop(client, gpus, replicas, log, TimeProvider.System, new Backoff(), sessionId, AgentVersion.Current, models, liveness, identity);

log.Info($"node agent {AgentVersion.Current} starting: node {options.NodeId}, server {string.Join(", ", options.Servers)}, session {sessionId}");
if (options.Runtime is SimulatedRuntimeOptions)
{
    // Loud on purpose: the server will believe these replicas serve.
    log.Warn($"replica runtime: {options.Runtime.Describe()}; pass --start-command to run an inference engine");
}
else
{
    log.Info($"replica runtime: {options.Runtime.Describe()}");
}

if (models is not null)
{
    log.Info(models.Describe());
}

log.Info(replicas.Sleeps
    ? $"sleeping replicas: dedicated and serverless replicas no longer desired sleep within {options.SleepBudgetBytes / (1024.0 * 1024 * 1024):0.###} GiB of weights"
    : "sleeping replicas: off (replicas no longer desired are stopped)");

try
{
    await loop.RunAsync(stopping.Token);
}
finally
{
    if (replicas.StopsReplicasOnExit)
    {
        // The replicas are the agent's children: none may outlive it, not even after a bug in the loop.
        await replicas.StopAllAsync(ReplicaSupervisor.DefaultShutdownTimeout);
    }
    else
    {
        // Pods: Kubernetes deletes them with the agent's pod; an agent restarted in the same pod takes them back.
        log.Info("leaving the replicas' pods to Kubernetes: they are deleted with this pod, or taken back if the agent restarts in it");
    }
    if (models is not null)
    {
        await models.StopAsync();
    }
}

log.Info("stopped");
return 0;

void Stop(PosixSignalContext context)
{
    // Handled here, so the runtime does not terminate the process before the loop unwinds.
    context.Cancel = true;
    log.Info($"stopping ({context.Signal})");
    stopping.Cancel();
}

using ControlPlane.Domain.Deployments;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Grains.Deployments;

public sealed partial class DeploymentGrain
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Deployment {DeploymentId} created ({Class}, {Reserved} reserved, at most {Max} replicas)")]
    private partial void LogCreated(string deploymentId, DeploymentClass @class, int reserved, int max);

    [LoggerMessage(Level = LogLevel.Information, Message = "Deployment {DeploymentId} scaled from {From} to {To} replicas (demand {Demand} tokens/s)")]
    private partial void LogScaled(string deploymentId, int from, int to, decimal demand);

    [LoggerMessage(Level = LogLevel.Information, Message = "Deployment {DeploymentId} migrating to generation {Generation}: model {Model}, {Gpus} GPUs per replica")]
    private partial void LogMigrating(string deploymentId, int generation, string model, int gpus);

    [LoggerMessage(Level = LogLevel.Information, Message = "Deployment {DeploymentId} limits now min {Min}, {Reserved} reserved, max {Max}; desired {Desired} replicas")]
    private partial void LogLimitsChanged(string deploymentId, int min, int reserved, int max, int desired);

    [LoggerMessage(Level = LogLevel.Information, Message = "Deployment {DeploymentId} deleted")]
    private partial void LogDeleted(string deploymentId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Deployment {DeploymentId}: replica {ReplicaId} loaded in {Seconds:F1} s; expected load time now {EstimateSeconds:F1} s")]
    private partial void LogLoadObserved(string deploymentId, string replicaId, double seconds, double estimateSeconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Deployment {DeploymentId} now forecasts {HorizonSeconds} s ahead (its learned load time)")]
    private partial void LogHorizon(string deploymentId, double horizonSeconds);
}

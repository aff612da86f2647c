<#
.SYNOPSIS
    Generalizes the VM with Sysprep. Always the last provisioner: the azure-arm plugin then
    deallocates the VM, marks it generalized and captures the managed image.

.DESCRIPTION
    1. waits (with a timeout) for the Azure guest agent services RdAgent and WindowsAzureGuestAgent
       and for servicing (TiWorker) to finish;
    2. restores Automatic Updates and Store auto-download (paused for the build), deletes Panther leftovers, answer files and the build work folder;
    3. starts Sysprep.exe /oobe /generalize /quiet /quit /mode:vm;
    4. waits (with a timeout) for ImageState IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE, and fails as soon as
       the VM says sysprep failed: ImageState IMAGE_STATE_UNDEPLOYABLE or an error in setuperr.log.
    On a failure or a timeout it prints the Panther logs (setuperr.log, errors of setupact.log) and fails.
    Timeout in minutes: W365_SYSPREP_TIMEOUT_MINUTES.
#>
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $env:W365_BUILD_DIR 'W365.Helpers.psm1') -Force

$timeoutMinutes = [int](Get-W365Setting -Name 'W365_SYSPREP_TIMEOUT_MINUTES')
$stateKey = 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Setup\State'
$sealedState = 'IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE'
$failedState = 'IMAGE_STATE_UNDEPLOYABLE'
$sysprepDir = Join-Path $W365SystemRoot 'System32\Sysprep'
$logFolders = @((Join-Path $sysprepDir 'Panther'), (Join-Path $W365SystemRoot 'Panther'))

function Write-SysprepLogs {
    foreach ($folder in $logFolders) {
        $errLog = Join-Path $folder 'setuperr.log'
        if (Test-Path -LiteralPath $errLog -PathType Leaf) {
            Write-Host "----- $errLog -----"
            Get-Content -LiteralPath $errLog | ForEach-Object { Write-Host $_ }
        }
        $actLog = Join-Path $folder 'setupact.log'
        if (Test-Path -LiteralPath $actLog -PathType Leaf) {
            Write-Host "----- $actLog (errors and warnings) -----"
            Get-Content -LiteralPath $actLog | Where-Object { $_ -match ', (Error|Warning)\s' -or $_ -match '0x8[0-9A-Fa-f]{7}' } | ForEach-Object { Write-Host $_ }
        }
    }
}

function Get-SysprepFailure {
    <# Why sysprep has already failed, or $null while it can still succeed. #>
    $state = Get-W365RegistryValue -Path $stateKey -Name 'ImageState'
    if ($state -eq $failedState) {
        return "ImageState is ${failedState}: sysprep failed and this VM cannot be generalized again"
    }
    foreach ($folder in $logFolders) {
        $errLog = Join-Path $folder 'setuperr.log'
        if (Test-Path -LiteralPath $errLog -PathType Leaf) {
            $errors = @(Get-Content -LiteralPath $errLog | Where-Object { $_ -match ', Error\s' })
            if ($errors.Count -gt 0) {
                return "$errLog reports $($errors.Count) error(s), the first: $($errors[0].Trim())"
            }
        }
    }
    return $null
}

function Wait-Until {
    param(
        [Parameter(Mandatory)] [string] $Description,
        [Parameter(Mandatory)] [scriptblock] $Condition,
        [Parameter(Mandatory)] [int] $Minutes
    )
    $deadline = (Get-Date).AddMinutes($Minutes)
    while (-not (& $Condition)) {
        if ((Get-Date) -ge $deadline) {
            throw "Timed out after $Minutes minute(s) waiting for $Description."
        }
        Start-Sleep -Seconds 10
    }
    Write-W365Log "Done waiting for $Description."
}

function Test-ServiceRunning {
    param([Parameter(Mandatory)] [string] $Name)
    $service = @(Get-Service | Where-Object { $_.Name -eq $Name })
    return ($service.Count -eq 1 -and $service[0].Status -eq 'Running')
}

# --- 1. Azure guest agent and servicing ---------------------------------------------------
Wait-Until -Description 'the RdAgent service' -Minutes $timeoutMinutes -Condition { Test-ServiceRunning -Name 'RdAgent' }
Wait-Until -Description 'the WindowsAzureGuestAgent service' -Minutes $timeoutMinutes -Condition { Test-ServiceRunning -Name 'WindowsAzureGuestAgent' }
Wait-Until -Description 'servicing (TiWorker) to finish' -Minutes $timeoutMinutes -Condition { @(Get-Process | Where-Object { $_.ProcessName -eq 'TiWorker' }).Count -eq 0 }

# --- 2. Servicing back on, as it was before the build; leftovers ----------------------------
Resume-W365Servicing
foreach ($path in @(Get-W365UnattendPaths)) {
    if (Test-Path -LiteralPath $path -PathType Leaf) {
        Write-W365Log "Removing answer file $path"
        Remove-Item -LiteralPath $path -Force
    }
}
foreach ($folder in $logFolders) {
    if (Test-Path -LiteralPath $folder -PathType Container) {
        Write-W365Log "Removing $folder"
        Remove-Item -LiteralPath $folder -Recurse -Force
    }
}
$workDir = Get-W365Setting -Name 'W365_BUILD_DIR'
if (Test-Path -LiteralPath $workDir -PathType Container) {
    Write-W365Log "Removing the build work folder $workDir"
    Remove-Item -LiteralPath $workDir -Recurse -Force
}

# --- 3. Sysprep --------------------------------------------------------------------------
Write-W365Log "ImageState before sysprep: $(Get-W365RegistryValue -Path $stateKey -Name 'ImageState')"
try {
    $null = Start-W365Process -FilePath (Join-Path $sysprepDir 'Sysprep.exe') -ArgumentList @('/oobe', '/generalize', '/quiet', '/quit', '/mode:vm')
    Wait-Until -Description "ImageState $sealedState" -Minutes $timeoutMinutes -Condition {
        $state = Get-W365RegistryValue -Path $stateKey -Name 'ImageState'
        Write-W365Log "ImageState: $state"
        if ($state -eq $sealedState) {
            return $true
        }
        $failure = Get-SysprepFailure
        if ($null -ne $failure) {
            throw "Sysprep failed: $failure."
        }
        return $false
    }
}
catch {
    Write-W365Log "Sysprep failed: $($_.Exception.Message)"
    Write-SysprepLogs
    throw
}
Write-W365Log 'Sysprep finished: the VM is generalized and ready for capture.'
# Packer ends the step with `exit $LastExitCode`: say success explicitly.
exit 0

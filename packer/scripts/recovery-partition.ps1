<#
.SYNOPSIS
    Removes the recovery partition of the OS disk, if the base has one, and extends the OS volume
    (Windows 365 requirement R6: no recovery partition). Switch: W365_REMOVE_RECOVERY_PARTITION.

.DESCRIPTION
    Windows RE is disabled first (reagentc moves winre.wim back to the OS volume), the partition
    with GPT type de94bba4-06d1-4d40-a16a-bfd50179d6ac is deleted, the OS partition grows into the
    freed space when it is adjacent, and Windows RE is enabled again on the OS volume.
#>
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $env:W365_BUILD_DIR 'W365.Helpers.psm1') -Force

$recoveryGptType = '{de94bba4-06d1-4d40-a16a-bfd50179d6ac}'
$mebibyte = 1048576
$gibibyte = 1073741824

if (-not (Test-W365Enabled -Name 'W365_REMOVE_RECOVERY_PARTITION')) {
    Write-W365Log 'Recovery partition removal is off (remove_recovery_partition = false).'
    exit 0
}

function Get-WinReStatus {
    $lines = Invoke-W365Native -FilePath "$W365SystemRoot\System32\reagentc.exe" -ArgumentList @('/info')
    $statusLine = @($lines | Where-Object { $_ -match 'Windows RE status:\s*(\S+)' })
    if ($statusLine.Count -ne 1) {
        throw "Cannot read the Windows RE status from 'reagentc /info': $($lines -join ' | ')"
    }
    $null = $statusLine[0] -match 'Windows RE status:\s*(\S+)'
    return $Matches[1]
}

$osPartition = Get-Partition -DriveLetter $W365SystemDriveLetter
$diskNumber = $osPartition.DiskNumber
$recovery = @(Get-Partition -DiskNumber $diskNumber | Where-Object { $_.GptType -eq $recoveryGptType -or $_.Type -eq 'Recovery' })

if ($recovery.Count -eq 0) {
    Write-W365Log "Disk $diskNumber has no recovery partition: nothing to remove."
    exit 0
}

$winReStatus = Get-WinReStatus
Write-W365Log "Windows RE status: $winReStatus"
if ($winReStatus -eq 'Enabled') {
    Invoke-W365Native -FilePath "$W365SystemRoot\System32\reagentc.exe" -ArgumentList @('/disable') | Out-Null
}

foreach ($partition in $recovery) {
    Write-W365Log "Removing recovery partition $($partition.PartitionNumber) on disk $diskNumber ($([Math]::Round($partition.Size / $mebibyte)) MB)."
    Remove-Partition -DiskNumber $diskNumber -PartitionNumber $partition.PartitionNumber -Confirm:$false
}

$left = @(Get-Partition -DiskNumber $diskNumber | Where-Object { $_.GptType -eq $recoveryGptType -or $_.Type -eq 'Recovery' })
if ($left.Count -ne 0) {
    throw "Recovery partition(s) still present on disk ${diskNumber}: $($left.PartitionNumber -join ', ')"
}

Update-Disk -Number $diskNumber
$supported = Get-PartitionSupportedSize -DiskNumber $diskNumber -PartitionNumber $osPartition.PartitionNumber
$current = (Get-Partition -DiskNumber $diskNumber -PartitionNumber $osPartition.PartitionNumber).Size
if ($supported.SizeMax -gt ($current + $mebibyte)) {
    Write-W365Log "Extending the OS partition from $([Math]::Round($current / $gibibyte, 2)) GB to $([Math]::Round($supported.SizeMax / $gibibyte, 2)) GB."
    Resize-Partition -DiskNumber $diskNumber -PartitionNumber $osPartition.PartitionNumber -Size $supported.SizeMax
}
else {
    Write-W365Log 'The freed space is not adjacent to the OS partition (or too small): OS partition size unchanged.'
}

if ($winReStatus -eq 'Enabled') {
    Invoke-W365Native -FilePath "$W365SystemRoot\System32\reagentc.exe" -ArgumentList @('/enable') | Out-Null
    Write-W365Log "Windows RE re-enabled on the OS volume: $(Get-WinReStatus)"
}
Write-W365Log 'Recovery partition removed.'
# Packer ends the step with `exit $LastExitCode`: say success explicitly.
exit 0

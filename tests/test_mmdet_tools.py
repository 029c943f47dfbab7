"""End to end through mmdet's own tools: generated VOC data, a timm
checkpoint, a few iterations of the tiny config, resume, test -> VOC mAP."""
import re

import pytest

from _mmdet_testlib import REPO, TINY, run_tool, write_timm_checkpoint

from smix_mmdet.mim_tools import mim_tool, pop_nproc

ITERS = ['train_cfg.max_iters=3', 'train_cfg.val_interval=3',
         'default_hooks.checkpoint.interval=3',
         'train_dataloader.batch_size=2', 'default_hooks.logger.interval=1']


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp('e2e')
    out = run_tool([str(REPO / 'tools' / 'make_voc_data.py'), '--out',
                    str(root / 'VOCdevkit'), '--num-train', '6',
                    '--num-test', '4', '--size', '128', '--quiet'], cwd=root)
    assert out.returncode == 0, out.stderr
    ckpt, _ = write_timm_checkpoint(root / 'pretrain', 'resnet18', ema=True)
    work = root / 'work'
    out = run_tool(
        [str(REPO / 'tools' / 'mmdet_train.py'), TINY, '--work-dir',
         str(work), '--cfg-options',
         f'model.backbone.init_cfg.checkpoint={ckpt}', *ITERS],
        cwd=root, env_extra={'SMIX_VOC_ROOT': str(root / 'VOCdevkit') + '/'})
    assert out.returncode == 0, (out.stdout + out.stderr)[-4000:]
    return root, ckpt, work, out.stdout + out.stderr


def test_train_loads_backbone_and_validates(trained):
    root, ckpt, work, log = trained
    assert (work / 'iter_3.pth').is_file()
    assert 'TimmPretrained: ResNet loaded from' in log
    assert 'state_dict_ema' in log and '122/122 backbone tensors load' in log
    assert re.search(r'pascal_voc/mAP: [0-9.]+', log)


def test_resume_with_mmdet_train_py_itself(trained):
    root, ckpt, work, _ = trained
    iters = [o.replace('=3', '=4') for o in ITERS]
    out = run_tool(
        [str(mim_tool('train.py')), TINY, '--work-dir', str(work), '--resume',
         '--cfg-options', f'model.backbone.init_cfg.checkpoint={ckpt}',
         *iters],
        cwd=root, env_extra={'SMIX_VOC_ROOT': str(root / 'VOCdevkit') + '/',
                             'PYTHONPATH': str(REPO)})
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-4000:]
    assert 'resumed' in log.lower() and 'Weights only' not in log
    assert (work / 'iter_4.pth').is_file()


def test_test_tool_prints_map(trained):
    root, _, work, _ = trained
    voc = str(root / 'VOCdevkit') + '/'
    out = run_tool(
        [str(REPO / 'tools' / 'mmdet_test.py'), TINY,
         str(work / 'iter_3.pth'), '--work-dir', str(root / 'test'),
         '--cfg-options', f'test_dataloader.dataset.data_root={voc}'],
        cwd=root)  # no SMIX_VOC_ROOT: the data root comes from --cfg-options
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-4000:]
    match = re.search(r'pascal_voc/mAP: ([0-9.]+)', log)
    assert match and 0.0 <= float(match.group(1)) <= 1.0
    assert 'Load checkpoint from' in log


def test_check_backbone_tool(trained, tmp_path):
    root, ckpt, _, _ = trained
    out = run_tool([str(REPO / 'tools' / 'check_backbone.py'), TINY, ckpt],
                   cwd=root)
    assert out.returncode == 0, out.stderr
    assert 'ok       layer4.1.bn2.running_var' in out.stdout
    assert out.stdout.strip().splitlines()[-1].startswith('OK: 122/122')
    bad, _ = write_timm_checkpoint(tmp_path, 'resnet34', ema=False)
    out = run_tool([str(REPO / 'tools' / 'check_backbone.py'), TINY, bad,
                    '--problems-only'], cwd=root)
    assert out.returncode == 1
    assert 'UNUSED   layer3.5.conv1.weight' in out.stdout
    assert 'ok       ' not in out.stdout
    out = run_tool([str(REPO / 'tools' / 'check_backbone.py'), TINY,
                    str(tmp_path / 'none.pth.tar')], cwd=root)
    assert out.returncode == 2 and 'does not exist' in out.stderr


def test_mim_tools_are_found():
    for name in ('train.py', 'test.py', 'dist_train.sh', 'dist_test.sh'):
        path = mim_tool(name)
        assert path.is_file() and '.mim' in str(path)
    assert pop_nproc(['a.py', '--nproc', '2', '--x']) == (2, ['a.py', '--x'])
    assert pop_nproc(['--nproc=4', 'c']) == (4, ['c'])
    with pytest.raises(SystemExit):
        pop_nproc(['--nproc', 'x'])

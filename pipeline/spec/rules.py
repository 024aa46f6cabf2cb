"""Every rule a finding is raised under, declared once: its id, its severity and its default
wording, a Chinese template a clerk can act on (a form may reword any of them under its
[messages]). Checks build findings by keyword from here (`Form.finding`), never choosing a
severity at the call: as frictionless declares each of its errors once, with its template.

A form declares rules of its own too (a count not above another, a coverage, the checks
across rounds): each gets its severity and default wording from its kind, below.

Placeholders: {place} is where (the sheet and cell, as `Form.location` writes it); {detail},
{value}, {expected}, {field_label} and the rest are named by each check.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..model import Severity

ERROR, WARNING, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    wording: str
    # Other severities the check may give it: only where one rule means different things at
    # different steps (a program fault costs a unit its figures while they are read, not after).
    also: tuple[Severity, ...] = ()


def _declared(*rules: Rule) -> dict[str, Rule]:
    out = {r.id: r for r in rules}
    assert len(out) == len(rules), "a rule is declared twice"
    return out


BUILT_IN = _declared(
    # The file as a whole
    Rule("skipped", INFO, "不是Excel工作簿，已跳过。"),
    Rule("unreadable", ERROR, "文件无法打开（{detail}）：请重新导出为.xlsx后报送。"),
    Rule("encrypted", ERROR, "文件设有打开密码：请去掉密码后重新报送。"),
    Rule("archive-as-workbook", ERROR, "这是一个压缩包，不是 Excel 报表：请解压后，报送其中的报表文件本身。"),
    Rule("archive-damaged", ERROR, "压缩包已损坏或不完整（可能没有复制或下载完）：请重新打包或重新复制后报送。"),
    Rule("archive-unsupported", ERROR, "压缩文件无法读取（只能读取 .zip，且压缩包里再套压缩包不能超过设定的层数）：请解压后报送，或改用 .zip。"),
    Rule("folder-unreadable", ERROR, "无法打开这个文件夹（{detail}），其中的报表都没有读取：请开放它的权限，或把其中的报表移出来。"),
    Rule("lock-file-alone", WARNING, "收件箱里只有Excel打开“{detail}”时留下的临时文件，没有报表本身：复制时这份报表可能还开着，"
         "请把报表本身（{detail}）复制或报送到收件箱。"),
    Rule("not-read-here", ERROR, "本机无法读取这个文件（{detail}）：这是汇总所用电脑上的文件权限或磁盘问题，不是报表本身的"
         "问题，本单位的数字暂未计入；请检查该文件的权限，或把它重新复制到收件箱后再汇总。"),
    Rule("not-a-file", INFO, "不是普通文件（{detail}），未读取。"),
    Rule("old-outputs", WARNING, "这个文件夹是以前汇总时写出的输出（其中有 roster.csv、findings.csv 等），不是各县报送的报表，"
         "其中的文件均未读取：请把它移出收件箱。"),
    # An error while the unit's figures are read, checked or chosen (they are not used); a
    # warning at a later step (the figures stand, that step's part is missing).
    Rule("internal-error", ERROR, "程序在{step}时出错（编号 {reference}）：{consequence}请把本文件发给维护人员，并告知这个编号。",
         also=(WARNING,)),
    # Sheets and tables
    Rule("missing-sheet", ERROR, "缺少工作表“{sheet_label}”：请按下发的表样填报{sheet_number}{sheet_label}。"),
    Rule("sheet-ambiguous", ERROR, "有多个工作表都可作为“{sheet_label}”（{detail}）：如是同一张表分在几个工作表中，"
         "请合并到一个工作表；否则请只保留一个。"),
    Rule("table-transposed", ERROR, "{place}起，本表的指标排在各行、乡镇排在各列（行列颠倒），未能读取：请按表样每个乡镇一行、"
         "每项指标一列填写后重新报送。"),
    Rule("column-qualified", ERROR, "{place}的表头“{value}”注明了“{detail}”，这一列的数字不是表样所要的{field_label}"
         "（本期的全部数），不能作为{field_label}汇总：请按表样填写本期的{field_label}，表头写“{field_label}”后重新报送。"),
    Rule("column-unit", ERROR, "{place}的表头“{value}”注明的单位是“{detail}”，而{field_label}以“{unit}”计：这一列的数字不能作为"
         "{field_label}汇总，请按表样以“{unit}”为单位填写后重新报送。"),
    Rule("township-struck-out", ERROR, "{place}标有“{detail}”，乡镇“{value}”这一行却仍在表中，其数字会计入汇总：如这一行不应计入，"
         "请删除这一行；如应计入，请去掉“{detail}”后重新报送。"),
    Rule("township-hidden", WARNING, "{place}起有{count}个乡镇的行被隐藏（{value}），打开表格时看不到，其数字已计入汇总："
         "如这些行不应计入，请删除；如应计入，请取消隐藏，核对后重新报送。"),
    Rule("formula-result-stale", ERROR, "{place}的{field_label}是公式“{formula}”，按表中数字算得{detail}，文件里保存的结果却是{value}"
         "（文件由别的程序生成，没有重新计算），打开表格时显示的与汇总读到的不同：请在Excel或WPS中打开、核对并保存后重新报送。"),
    Rule("figure-unseen", WARNING, "{place}起有{count}个数字的字体与单元格底色同色（{value}，如白底白字），在表中看不见，"
         "其数字已计入汇总：如这些数不应计入，请删除；如应计入，请改为黑色字体，核对后重新报送。"),
    Rule("column-hidden", WARNING, "{place}的{field_label}列被隐藏，打开表格时看不到，其数字已计入汇总：如这一列不应计入，"
         "请删除；如应计入，请取消隐藏，核对后重新报送。"),
    Rule("township-not-a-township", WARNING, "{place}的“{value}”{detail}，不像乡镇的名称，已作为一个乡镇计入汇总："
         "如是上一行乡镇的其中数，请在名称前写“其中：”；如是某乡镇下的村，请并入该乡镇，不单列一行。"),
    Rule("column-too-high", ERROR, "{place}的“{value}”比表头的其他各列高出{count}行，没有作为{field_label}列读到："
         "请把它与下面的单元格合并，或移到第{row}行后重新报送。"),
    Rule("missing-column", ERROR, "{place}缺少{field_label}列{detail}：请在表头补上该列。"),
    Rule("column-unrecognised", ERROR, "{place}的表头“{value}”不是本表的指标名称，本表缺少{field_label}列：如这一列就是"
         "{field_label}，请把表头改为“{field_label}”。"),
    Rule("table-cut", ERROR, "表格的乡镇行一直排到{place}，再往下的没有读取（每张表最多读取{count}行）：本表每个乡镇一行，"
         "请删除多余的行后重新报送。"),
    Rule("stray-cells", WARNING, "{place}工作表范围异常（至{value}），只读取了表格区域：请删除表格以外的内容。"),
    Rule("sheet-empty", ERROR, "{place}未填报数据：请逐乡镇填写各项数字（没有请填0）后重新报送。"),
    Rule("total-only", ERROR, "{place}是合计行，而表中没有分乡镇的数字：本表按乡镇汇总，请逐乡镇填写各项数字后重新报送。"),
    Rule("sheet-all-zero", WARNING, "{place}各项数据均为0：请核实是否漏填。"),
    # Cells
    Rule("not-a-count", ERROR, "{place}的{field_label}为“{value}”，不是非负整数：请填写整数，没有请填0。"),
    Rule("count-too-large", ERROR, "{place}的{field_label}为“{value}”，数值大得不合常理：请核对后重填。"),
    Rule("hidden-text", ERROR, "{place}的{field_label}网页上显示为{value}，单元格里却还有隐藏的文字或输入框里的“{detail}”，"
         "用Excel打开时可能显示为另一个数：请只保留要填报的数字后重新导出。"),
    Rule("struck-figure", ERROR, "{place}的{field_label}写作“{value}”，其中“{detail}”划了删除线：划掉的和留下的数字连在一起，"
         "读不出要填报的数。请删去划掉的数字，只保留要填报的数后重新报送。"),
    Rule("cell-error", ERROR, "{place}的{field_label}显示错误值{value}，读不出数字：请改正该单元格的公式，或直接填写数字（没有请填0）。"),
    Rule("total-cell-error", WARNING, "{place}的{field_label}显示错误值{value}，该合计数无法核对，汇总按各乡镇数据计算：请改正该单元格的公式。"),
    Rule("formula-without-value", ERROR, "{place}是公式但没有计算结果：请在Excel或WPS中打开并保存后重新报送。"),
    Rule("formula-result-unverified", WARNING, "{place}起有{count}个乡镇数字的单元格是公式，而本文件要求打开时重新计算（由不能计算"
         "公式的程序生成），文件里保存的结果（如{value}）未必是打开时显示的数，已按保存的结果汇总：请在Excel或WPS中打开、"
         "核对并保存后重新报送。"),
    Rule("formula-not-recalculated", ERROR, "{place}是公式，而本文件要求打开时重新计算（由不能计算公式的程序生成），"
         "文件里保存的结果不能作数：请在Excel或WPS中打开并保存后重新报送。"),
    # Rows
    Rule("township-missing", ERROR, "{place}有数据但没有乡镇名称：请补填乡镇名称。"),
    Rule("township-too-long", ERROR, "{place}的乡镇名称“{value}”过长：请只填乡镇名称。"),
    Rule("township-is-total", ERROR, "{place}的“{value}”一行各项数字都恰好等于其他各乡镇之和，应是合计行：如是合计行，请把该行名称改为“合计”；"
         "如确是乡镇，请核对该行数字。"),
    Rule("figures-without-header", ERROR, "{place}有数字，但这一列没有表头，数字没有汇总：如是整行数字填错了列，请移到对应的指标下；"
         "如是草稿或核对用的数字，请删除。", also=(WARNING,)),
    Rule("township-nearly-total", ERROR, "{place}的“{value}”一行除{field_label}外，各项数字都恰好等于其他各乡镇之和，应是合计行："
         "如是合计行，请把该行名称改为“合计”并核对其{field_label}；如确是乡镇，请核对该行数字。"),
    Rule("duplicate-township", ERROR, "{place}乡镇“{value}”重复出现：每个乡镇只填一行。"),
    Rule("townships-differ", WARNING, "各表所列乡镇不一致：{detail}。"),
    Rule("township-repeated", WARNING, "{place}的乡镇“{value}”在各表中的数字与“{detail}”逐项相同：请核实是否把同一乡镇填了两次"
         "（如一个是改名前的名称），如是请删除其中一行后重新报送。"),
    Rule("township-copied", WARNING, "{place}的乡镇“{value}”在各表中的数字与{other}逐项相同：请核实是否从别的单位的报表中"
         "复制了这一行，如是请删除后重新报送；如确是本单位的乡镇，请核对数字。"),
    Rule("note-with-figures", WARNING, "{place}所在行以“{value}”开头，作为注释未计入汇总，但该行填有数字：如该行是乡镇，请改正乡镇名称；"
         "如是注释，请删去数字。"),
    Rule("text-only-row", WARNING, "{place}只有文字“{value}”而没有数据，未作为乡镇计入：如是乡镇，请填写数据（没有请填0）；如是说明，请移到表格下方。"),
    # Totals and computed columns
    Rule("total-rows-differ", ERROR, "{place}又一个合计行的{field_label}为{value}，与第{row}行合计的{expected}不同，"
         "不知哪个是对的：请删去多余的合计行，或改正后重新报送。"),
    Rule("total-row-mismatch", ERROR, "{place}合计行的{field_label}为{value}，各乡镇之和为{expected}：请核对。"),
    Rule("total-recomputed", INFO, "{place}合计行的公式没有可用的计算结果，已按各乡镇数据重新计算。"),
    Rule("total-hidden-rows", WARNING, "{place}合计行用SUBTOTAL公式，没有计入隐藏的行；隐藏行中的乡镇已计入汇总：如这些乡镇不应计入，"
         "请删除这些行，否则请取消隐藏后核对合计数。"),
    Rule("total-filtered", INFO, "{place}合计行用SUBTOTAL公式只合计了筛选后显示的行，已按全部乡镇数据重新计算。"),
    Rule("subtotal-mismatch", WARNING, "{place}小计行的{field_label}为{value}，其上各乡镇之和为{expected}：请核对。小计不计入汇总。"),
    Rule("computed-mismatch", ERROR, "{place}的{field_label}为{value}，按定义应为{expected}：请核对。"),
    # Who and when
    Rule("unit-unknown", ERROR, "无法识别填报单位{detail}：请在表头填写“填报单位：××县”或行政区划代码。"),
    Rule("unit-conflict", ERROR, "{detail}：请核对填报单位{also}。"),
    Rule("same-as-another", WARNING, "本单位报表各乡镇的名称和数字与{other}的报表完全相同：请核对是否报错了文件，"
         "或是否照抄了其他单位的报表。"),
    Rule("unit-title-differs", WARNING, "表的标题写的是{value}，填报单位却是{unit}：请核对表中数字是否是本单位的，并改正标题。"),
    Rule("unit-from-short-name", WARNING, "表内没有填报单位，文件名（或所在文件夹名）“{value}”只写了单位名称的一部分，按{unit}的报表读取："
         "如不是{unit}的报表，请在表头填写填报单位后重新报送。"),
    Rule("unit-is-city", ERROR, "填报单位是“{value}”，这是{city_noun}一级的报表，不能作为某个{noun}的数字汇总：请把各{noun}的报表"
         "转报（或报送{city_noun}汇总时写出的汇总工作簿consolidated.xlsx）。"),
    Rule("unit-is-township", ERROR, "填报单位是“{value}”，这是乡镇一级的报表，不能作为本{noun}的数字汇总：请报送本{noun}的汇总报表。"),
    Rule("other-unit", ERROR, "这是{detail}的报表，不是{unit}的：本链接只接收{unit}的报表，未予接收。"),
    Rule("other-unit-by-name", ERROR, "文件名写的是{detail}，表内没有写明填报单位，未予接收：如这是{unit}的报表，请在表头填写"
         "“填报单位：{unit}”后重新上传；如是{detail}的，请由{detail}用自己的链接报送。"),
    Rule("misnamed-file", WARNING, "这份以本单位命名的文件是{unit}的报表（表内填报单位是{unit}），未作为本单位的报表："
         "本单位仍以原来报送的报表为准；如要更正本单位的报表，请报送本单位的报表。"),
    Rule("date-missing", WARNING, "没有读到填报日期：请在表头填写“填报日期：2016年12月5日”。"),
    Rule("date-differs", WARNING, "填报日期为{value}，与{detail}不一致：本报表按{detail}排序（同一单位有几份报表时，"
         "按填报日期决定采用哪一份），请把各表的填报日期改为一致。"),
    Rule("date-stale", WARNING, "填报日期为{value}，比{detail}早半年以上，可能是以前的报表：如是，请报送本期的报表；"
         "如不是，请改正填报日期。"),
    Rule("date-in-future", WARNING, "填报日期为{value}，晚于今天，应是笔误：本文件按未填日期排序，请核对填报日期。"),
    Rule("outside-scope", INFO, "这是{unit}的报表，{unit}不在{region}的汇总范围内：本次未计入。"),
    Rule("superseded", WARNING, "同一单位另有报表“{detail}”（{reason}），按规则采用它，本文件未计入汇总。"),
    # A city's file carrying its counties' figures (stages/read/city.py, stages/resolve.py)
    Rule("old-output-file", WARNING, "这是以前汇总时写出的{detail}，不是各县报送的报表，未读取：请把它移出收件箱。"),
    Rule("city-summary", INFO, "这是{city}汇总表中本单位的合计数，没有乡镇明细：乡镇一级的审核和与上期各乡镇数字的比较未进行。"),
    Rule("county-row-unknown", ERROR, "{place}的“{value}”认不出是哪个{unit_noun}，这一行的数字没有汇总：请写明{unit_noun}的全称后重新报送。"),
    Rule("county-row-repeated", ERROR, "{place}的“{value}”与第{row}行是同一{unit_noun}（{unit}），不知哪一行是它的数字，"
         "两行都没有汇总：请删去多余的一行后重新报送。"),
    Rule("county-sheet-unknown", ERROR, "工作表“{sheet_name}”的名称中“{value}”认不出是哪个{unit_noun}，这张表的数字没有汇总："
         "请在工作表名称中写明{unit_noun}的全称后重新报送。"),
    Rule("city-figure-differs", ERROR, "{place}本单位的{field_label}为{value}，而乡镇明细中本单位各乡镇之和为{expected}："
         "汇总工作簿里的县级数字与乡镇明细不一致，不知哪个是对的：请{city}核对后重新报送。"),
    Rule("city-detail-unread", ERROR, "{place}起有{count}行乡镇明细{detail}，这些行的数字没有汇总：请核对后重新报送。"),
    Rule("county-short-name", INFO, "{place}的“{value}”按简称认作{unit}。"),
    Rule("summary-total-mismatch", WARNING, "{place}合计行的{field_label}为{value}，读取的各{unit_noun}之和为{expected}："
         "汇总按各{unit_noun}的数字计算，请核对。"),
    Rule("city-rejected", ERROR, "{city}汇总时已退回本单位的报表：请按{city}的意见改正后重新报送。"),
    Rule("city-county-mismatch", WARNING, "{city_file}中本单位的{detail}与本单位自己报送的“{own_file}”不一致：请核实以哪个为准。"),
    Rule("city-copies-differ", WARNING, "{city_file}中本单位的{detail}与{other_file}不一致：请核实以哪个为准。"),
    Rule("county-outside-city", WARNING, "{city}报来的“{file_name}”中有本单位的报表，而本单位属{own_city}：请核实是否报错了单位。"),
    Rule("resubmission-unclear", WARNING, "{detail}，按规则仍用“{stands}”：请核实后重新报送。"),
    # Across rounds, whatever the form declares
    Rule("same-file-as-previous", WARNING, "本期采用的这个文件与上期（{detail}）汇总时用的文件完全相同，本单位没有重新报送："
         "计入本期汇总的是上期的数字，请核实后报送本期的报表。"),
    Rule("same-as-previous", WARNING, "本期报表与上期（{detail}）的数字逐项相同，而多数{unit_noun}的数据已有变化：请核实是否误报了上期的报表。"),
    Rule("township-dropped", INFO, "上期报送的乡镇“{value}”本期没有出现：请核实是否漏报或改名。"),
    Rule("township-added", INFO, "{place}的乡镇“{value}”上期没有报送：请核实是否新增或改名。"),
    # Tables clerks rebuild (issue 24): found by what they say, not where they sit
    Rule("sheet-found", INFO, "{place}起的表格按其{detail}认作{sheet_number}{sheet_label}读取。"),
    Rule("breakdown-exceeds", WARNING, "{place}“{value}”是上一行的其中数，其{field_label}（{expected}）大于上一行的{bound_value}："
         "请核对。其中数不计入汇总。"),
    Rule("breakdown-unmarked", WARNING, "{place}“{value}”一行按其中数读取（名称以“其中”开头），未计入汇总：如这是一个乡镇，"
         "请改正名称后重新报送；如是其中数，请写作“其中：…”。"),
    Rule("table-not-read", WARNING, "{place}起另有{sheet_number}{sheet_label}的表头和乡镇数字，这张工作表没有汇总：如是续表，"
         "请把其中的乡镇移到本表中后重新报送；如是旧表或多余的，请删除这张工作表。"),
    Rule("columns-by-period", ERROR, "{place}起各项指标下又分“{value}”等列，不知哪一列是本次要汇总的数，这张表没有读取："
         "请按表样每项只填一列后重新报送。"),
    Rule("figures-not-read", WARNING, "{place}起另有{count}行乡镇数字（“{value}”等），没有表头，这张工作表没有汇总：如是续表，"
         "请把其中的乡镇移到本表中后重新报送；如是旧表或多余的，请删除这张工作表。"),
    Rule("count-shown-otherwise", ERROR, "{place}的{field_label}设了单元格格式“{detail}”，表中显示的不是单元格里的数（{value}）："
         "请把格式改为“常规”，填写确切的整数后重新报送。"),
    Rule("count-shown-as", ERROR, "{place}的{field_label}单元格里是{value}，表中却显示为{detail}（单元格设了数字格式）："
         "请把格式改为“常规”，填写确切的整数后重新报送。"),
    Rule("merged-figure", ERROR, "{place}的“{value}”填在合并单元格（{detail}）中，合并进来的其他单元格读作0，"
         "不知这个数属于哪一项：请取消合并，在每个单元格中分别填写数字后重新报送。"),
    Rule("township-nearly-subtotal", ERROR, "{place}的“{value}”一行除{field_label}外，各项数字都恰好等于它上面{count}个乡镇之和，"
         "像是小计行，按乡镇汇总会重复计算：如是小计，请在名称中写明“小计”（如“{value}小计”）并核对其{field_label}；"
         "如确是一个乡镇，请核对该行数字。"),
    Rule("township-heads-group", ERROR, "{place}的“{value}”一行的每个数都等于它下面{count}行之和，像是片区的小计或乡镇的合计"
         "（下面几行是它的组成部分），按乡镇汇总会重复计算：如是片区小计，请删去这一行，或移到所辖乡镇的下面并在名称中写明“小计”"
         "（如“{value}小计”）；如下面几行是该乡镇所辖的村，请删去这几行，只保留乡镇一行后重新报送。"),
    Rule("township-is-subtotal", ERROR, "{place}的“{value}”一行的每个数都等于它上面{count}个乡镇之和，像是小计行，"
         "按乡镇汇总会重复计算：如是小计，请在名称中写明“小计”（如“{value}小计”）；如确是一个乡镇，请核对数字后重新报送。"),
    Rule("figures-below-footer", ERROR, "{place}“{value}”一行在填表人等落款之下，这一行的数字没有汇总：如是乡镇的数据，"
         "请移到表格之中（合计行之上）后重新报送；如不是，请删除。"),
    Rule("second-table-below", WARNING, "{place}另有一张{sheet_number}（“{value}”），没有汇总：如是上期的报表或供参考的，请删除；"
         "如是本期的数字，请填在上面的表中后重新报送。"),
    Rule("breakdown-alone", WARNING, "{place}“{value}”一行是其中数，但上面没有它所属的数据行，未计入汇总：请核对这一行的位置。"),
    Rule("villages-summed", INFO, "{place}乡镇“{value}”下各村的{count}行数据已合计为该乡镇的数字。"),
    Rule("villages-differ", ERROR, "{place}乡镇“{value}”一行的{field_label}为{expected}，其下各村之和为{total}：请核对。"),
    Rule("column-hidden-duplicate", WARNING, "{place}{field_label}有两列：读取了显示的{detail}列，隐藏的{value}列没有读取："
         "如隐藏的是旧数据，请删除该列。"),
    Rule("column-duplicate", ERROR, "{place}{field_label}有两列（{detail}），不知以哪一列为准：请删除多余的一列后重新报送。"),
    Rule("count-in-wan", ERROR, "{place}的{field_label}为“{value}”，以“万”为单位不是确切的数：请填写确切的整数（例如12345），不要写“万”。"),
    # Returns in the shapes web systems and offices export (issue 25)
    Rule("unit-prefix-mismatch", WARNING, "填报单位“{value}”中的“{detail}”与{unit}不符，已按{unit}读取：请核对填报单位的写法。"),
    Rule("skipped-return", ERROR, "收到本单位的“{detail}”，但它不是Excel工作簿，也不是能读取的网页或CSV表格，未能读取；本单位还没有可以汇总的"
         "报表：请以Excel工作簿（.xlsx）报送。"),
    Rule("tables-combined", INFO, "本单位的各表分在{count}个文件中报送（{detail}），已合为一份报表汇总。"),
    Rule("table-superseded", WARNING, "本文件的{sheet_number}{sheet_label}另有“{detail}”中的同一张表（{reason}），按规则采用那一张，"
         "本文件的这张表未计入汇总。"),
)

# The findings of a place in the inbox the run could not open, with the few words the report
# and the console name it by: any return inside was read by no one, and its county may stand
# as 未报送 for it. validation.html carries each finding in full.
UNOPENED = {
    "archive-damaged": "压缩包已损坏或不完整",
    "archive-unsupported": "压缩文件无法读取",
    "folder-unreadable": "文件夹无法打开",
    "not-read-here": "本机无法读取",
}

# The rules a form declares, by kind: each declared id takes this severity, and this wording
# unless the form words it under [messages] (by the id, or by the name its `message` gives).
KINDS = _declared(
    Rule("not-above", ERROR, "{place}的{field_label}（{value}）大于{bound_label}（{bound_value}）：请核对后修改。"),
    Rule("coverage", WARNING, "{noun}为{value}，低于{expected}（{detail}）：请核实是否漏报或漏访。"),
    Rule("not-below", WARNING, "{place}{township}的{field_label}由上期的{previous}{unit}降为{value}{unit}，累计数一般不应减少，请核实。"),
    Rule("hb", INFO, "{place}的{field_label}由上期的{previous}{unit}变为{value}{unit}，变化幅度与其他{unit_noun}相差较大，请核实。"),
)
# A form's own older name for the not-above wording.
KIND_ALIASES = {"exceeds": "not-above"}

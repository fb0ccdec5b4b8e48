/*
 * gen_cache: fill an imgwd cache database with generated messages quickly,
 * for the history and search benchmarks. It links imgwd's store objects
 * (so the schema, its triggers and imgw_grams are exactly imgwd's) and
 * inserts every row through store_bulk_put in one transaction, so the
 * full-text indexes and conversations are built by the same triggers imgwd
 * fires. A benchmark tool: it exits on any error.
 *
 *   gen_cache DB MESSAGES CONVERSATIONS
 *
 * Conversations are one-to-one with users p0000, p0001, ...; our own id is
 * "me". Text is 3 to 10 words drawn from 200 common two-character Chinese
 * words (so each appears in about 3% of messages), plus the word 熊猫 in
 * about one message in a thousand.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "store.h"

static const char *const words[] = {
	"北京", "上海", "明天", "今天", "晚上", "中午", "早上", "周末", "时间", "地方",
	"朋友", "同事", "老师", "学生", "公司", "会议", "项目", "文件", "邮件", "电话",
	"吃饭", "喝茶", "咖啡", "米饭", "面条", "水果", "蔬菜", "超市", "商场", "银行",
	"医院", "学校", "机场", "车站", "地铁", "公交", "出租", "开车", "走路", "跑步",
	"天气", "下雨", "晴天", "很冷", "很热", "刮风", "下雪", "温度", "空调", "衣服",
	"电脑", "手机", "网络", "软件", "系统", "数据", "代码", "测试", "发布", "版本",
	"问题", "答案", "方法", "结果", "原因", "计划", "安排", "准备", "开始", "结束",
	"已经", "还是", "但是", "因为", "所以", "如果", "虽然", "然后", "现在", "以后",
	"喜欢", "希望", "觉得", "知道", "认为", "需要", "应该", "可以", "不能", "一定",
	"谢谢", "你好", "再见", "抱歉", "没事", "好的", "收到", "明白", "同意", "确认",
	"电影", "音乐", "游戏", "比赛", "足球", "篮球", "旅游", "照片", "视频", "新闻",
	"家里", "房子", "租金", "搬家", "装修", "厨房", "客厅", "卧室", "阳台", "花园",
	"妈妈", "爸爸", "孩子", "哥哥", "姐姐", "弟弟", "妹妹", "爷爷", "奶奶", "亲戚",
	"生日", "礼物", "蛋糕", "聚会", "婚礼", "节日", "春节", "假期", "休息", "加班",
	"工资", "价格", "便宜", "很贵", "打折", "付款", "发票", "合同", "客户", "市场",
	"经理", "老板", "团队", "部门", "面试", "招聘", "培训", "报告", "总结", "目标",
	"健康", "医生", "感冒", "发烧", "吃药", "运动", "减肥", "睡觉", "起床", "洗澡",
	"城市", "农村", "国家", "世界", "历史", "文化", "语言", "中文", "英文", "翻译",
	"快递", "包裹", "地址", "号码", "密码", "账号", "登录", "注册", "下载", "上传",
	"一起", "马上", "慢慢", "赶紧", "小心", "注意", "记得", "忘了", "找到", "看看",
};
#define NWORDS	((int)(sizeof words / sizeof words[0]))

static uint64_t	 rng = 88172645463325252ULL;

static uint32_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 11);
}

/* Say what failed and exit. */
static void
fail(struct store *s)
{
	fprintf(stderr, "gen_cache: %s\n", store_error(s));
	exit(1);
}

int
main(int argc, char **argv)
{
	struct store	*s;
	struct store_row r = { .type = "TEXT", .status = "SENT", .extra = "" };
	char		*cause, id[40], conv[16], peer[8], text[512];
	long		 n, nconv, i;
	int64_t		 t0 = 1700000000000;
	int		 k, w, len;

	if (argc != 4 || (n = atol(argv[2])) < 1 || (nconv = atol(argv[3])) < 1 ||
	    nconv > 10000) {
		fprintf(stderr, "usage: gen_cache DB MESSAGES CONVERSATIONS\n");
		return 2;
	}
	if ((s = store_open(argv[1], &cause)) == NULL) {
		fprintf(stderr, "gen_cache: %s\n", cause);
		return 1;
	}
	/* As imgwd: the store is told our id, and it is kept for a restart. */
	if (store_set_self(s, "me") == -1 || store_bulk_begin(s) == -1 ||
	    store_set_kv(s, "self", "me") == -1)
		fail(s);
	r.id = id;
	r.conv = conv;
	r.content = text;
	for (i = 0; i < n; i++) {
		snprintf(peer, sizeof peer, "p%04ld", (long)(rnd() % nconv));
		snprintf(conv, sizeof conv, "u:%s", peer);
		snprintf(id, sizeof id, "%08x%08x%08lx", rnd(), rnd(), i);
		len = 0;
		w = 3 + rnd() % 8;
		for (k = 0; k < w; k++)
			len += snprintf(text + len, sizeof text - len, "%s%s",
			    k ? (rnd() % 4 ? "" : "，") : "", words[rnd() % NWORDS]);
		if (rnd() % 1000 == 0)
			len += snprintf(text + len, sizeof text - len, "熊猫");
		snprintf(text + len, sizeof text - len, "%s",
		    rnd() % 3 ? "。" : "！");
		if (rnd() % 2) {
			r.from = peer;
			r.to = "me";
		} else {
			r.from = "me";
			r.to = peer;
		}
		r.created_at = t0 + i * 997;
		r.seq = i + 1;
		if (store_bulk_put(s, &r) == -1)
			fail(s);
	}
	if (store_set_kv(s, "sync_seq", "1000000000") == -1 ||
	    store_bulk_end(s) == -1)
		fail(s);
	store_close(s);
	return 0;
}
